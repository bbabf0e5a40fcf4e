"""Data-loader workers seeded anew every epoch from the main process."""
import random

import numpy as np
import torch
from mmengine.dist import get_rank
from torch.utils.data import get_worker_info

from cpabmm.registry import FUNCTIONS


@FUNCTIONS.register_module()
def seed_worker(worker_id: int) -> None:
    """Seed a worker's Python, NumPy and torch generators from the seed the
    DataLoader drew for it from the main process's torch generator, offset
    by the rank so that ranks differ.

    Use it as ``worker_init_fn=dict(type='cpabmm.seed_worker')``, with
    ``persistent_workers=False``: every epoch then starts new workers whose
    draws follow from the main generator, which checkpoints record, so a
    resumed run augments its data as an uninterrupted one does. (MMEngine's
    default gives the workers the same seeds every epoch.)
    """
    info = get_worker_info()
    seed = (info.seed + get_rank() * info.num_workers) % 2**63
    random.seed(seed)
    np.random.seed(np.random.SeedSequence(seed).generate_state(4))
    torch.manual_seed(seed)
