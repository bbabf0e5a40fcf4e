"""Distributed data parallel for models that run their own training step."""
from typing import Dict, Union

import torch
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper

from cpabmm.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class AnimatorDistributedDataParallel(MMDistributedDataParallel):
    """MMEngine's DDP wrapper, handing the training step to the model.

    :class:`~mmengine.model.MMDistributedDataParallel` runs the single-loss,
    single-optimiser step itself. The animator's ``train_step`` steps several
    optimisers and a discriminator pass; it receives this wrapper as its
    ``forward``, so every forward pass goes through DDP and the gradients are
    averaged across processes. Parts of the model are idle in some steps
    (the background predictor before ``bg_start``, the AVD network in the
    first stage, the discriminator in the generator pass): configure
    ``find_unused_parameters=True``, as the training schedules do.
    """

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapper) -> Dict[str, torch.Tensor]:
        return self.module.train_step(data, optim_wrapper, forward=self)
