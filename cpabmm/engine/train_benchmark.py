"""Timing of the animator's training step (``tools/benchmark.py train``)."""
from __future__ import annotations

import copy
import os.path as osp
from typing import Dict, Optional, Union

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from cpabmm.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from cpabmm.timing import measure

#: the synthetic training configs (architecture, weight-free losses, optimisers)
SYNTHETIC_CONFIGS = {
    'FOMM': 'fomm/fomm_k10-small_1xb8-20e_synthetic-64.py',
    'TPSMM': 'tpsmm/tpsmm_k10-small_1xb8-20e_synthetic-64.py',
    'CPABMM': 'cpabmm/cpabmm_k10-small_1xb8-20e_synthetic-64.py',
}
#: the published architectures
PUBLISHED_MODELS = {
    'FOMM': '_base_/models/fomm.py',
    'TPSMM': '_base_/models/tpsmm.py',
    'CPABMM': '_base_/models/cpabmm.py',
}


def training_config(config_root: str, name: str, size: int) -> Config:
    """What to time for model family ``name``: at 64 px its synthetic config;
    at other sizes the published architecture with the synthetic config's
    weight-free losses (the VGG-19, SAM and DINO weights cannot be fetched
    offline), so that the families compare with the same losses."""
    synthetic = Config.fromfile(osp.join(config_root, SYNTHETIC_CONFIGS[name]))
    if size == 64:
        return synthetic
    cfg = Config.fromfile(osp.join(config_root, PUBLISHED_MODELS[name]))
    cfg.model.losses = synthetic.model.losses
    cfg.model.image_size = (size, size)
    return cfg


def build_for_training(cfg: Config, device: torch.device):
    """The model (training mode) and its optimiser wrappers."""
    init_default_scope('cpabmm')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(device).train()
    options = {k: v for k, v in cfg.optim_wrapper.items() if k != 'constructor'}
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=cfg.optim_wrapper.constructor, optim_wrapper_cfg=options))
    return model, constructor(model)


#: training-step settings of the frozen-network losses:
#: ``(label, SAM loss, DINO loss, new frames every step = cold feature cache)``
FROZEN_LOSS_VARIANTS = (
    ('without SAM and DINO', False, False, False),
    ('SAM, warm cache', True, False, False),
    ('SAM, cold cache', True, False, True),
    ('DINO', False, True, False),
    ('SAM warm cache + DINO', True, True, False),
    ('SAM cold cache + DINO', True, True, True),
)


def with_frozen_losses(cfg: Config, sam: Optional[Union[str, dict]] = None,
                       dino: bool = False) -> Config:
    """A copy of ``cfg`` with CPABMM's SAM keypoint semantic loss (encoder
    arch ``sam``; memory feature cache) and/or DINO structure alignment loss
    added, both with random-weight backbones (``pretrained=False``: the
    same cost as the published weights)."""
    cfg = copy.deepcopy(cfg)
    if sam is not None:
        encoder = dict(type='SAMImageEncoder', arch=sam, pretrained=False)
        cfg.model.losses['keypoint_semantic'] = dict(
            type='KeypointSemanticTerm', loss=dict(type='KeypointSemanticLoss', encoder=encoder))
    if dino:
        cfg.model.losses['structure'] = dict(
            type='ImageLossTerm', loss=dict(type='StructureAlignmentLoss',
                                            backbone=dict(type='DINOViT', pretrained=False)))
    return cfg


def time_train_step(cfg: Config, batch: int, repeats: int,
                    device: Optional[torch.device] = None,
                    fresh_frames: bool = False) -> Dict[str, float]:
    """Seconds per ``train_step`` (forward, backward, every optimiser step) on
    random frames, after one warm-up step: the minimum wall and process CPU
    time over ``repeats`` steps. ``fresh_frames`` draws new frames for every
    step (a feature cache then never hits: a cold cache); otherwise every
    step sees the same frames (a warm cache after the warm-up step)."""
    device = device or torch.device('cpu')
    model, optimisers = build_for_training(cfg, device)
    height, width = cfg.model.image_size
    generator = torch.Generator().manual_seed(0)

    def frames() -> Dict[str, torch.Tensor]:
        return {key: torch.rand(batch, 3, height, width, generator=generator).to(device)
                for key in ('source', 'driving')}

    data = frames()
    timing = measure(lambda: model.train_step(frames() if fresh_frames else data, optimisers),
                     repeats, device=device)
    return {'wall': timing.wall, 'cpu': timing.cpu}
