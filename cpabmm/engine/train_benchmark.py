"""Timing of the animator's training step (``tools/benchmark.py train``)."""
from __future__ import annotations

import os.path as osp
import time
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from cpabmm.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS

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


def time_train_step(cfg: Config, batch: int, repeats: int,
                    device: Optional[torch.device] = None) -> Dict[str, float]:
    """Seconds per ``train_step`` (forward, backward, every optimiser step) on
    random frames, after one warm-up step: the minimum wall and process CPU
    time over ``repeats`` steps."""
    device = device or torch.device('cpu')
    model, optimisers = build_for_training(cfg, device)
    height, width = cfg.model.image_size
    generator = torch.Generator().manual_seed(0)
    data = {key: torch.rand(batch, 3, height, width, generator=generator).to(device)
            for key in ('source', 'driving')}

    def step():
        model.train_step(data, optimisers)
        if device.type == 'cuda':
            torch.cuda.synchronize(device)

    step()
    walls: List[float] = []
    cpus: List[float] = []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        step()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {'wall': min(walls), 'cpu': min(cpus)}
