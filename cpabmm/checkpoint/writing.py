"""Writing checkpoints: atomically, in types the weights-only loader reads."""
from __future__ import annotations

from typing import Any, Mapping

import torch

from cpabmm.fileio import atomic_path
from .safe_types import to_safe_types


def save_checkpoint(checkpoint: Mapping[str, Any], path: str) -> None:
    """Write ``checkpoint`` to ``path`` so that it is complete or absent
    (:func:`cpabmm.fileio.atomic_path`) and loads with ``weights_only=True``."""
    with atomic_path(path) as temporary:
        torch.save(to_safe_types(checkpoint), temporary)
