"""Short training runs of the synthetic configs (``tools/benchmark.py converge``).

Each run goes through MMEngine's :class:`~mmengine.runner.Runner` with the
config's own data, schedule and hooks (checkpoints and visualisation off, in
a temporary work folder) and records the training loss of every iteration, so
that the first and last iterations' mean losses can be compared.
"""
from __future__ import annotations

import math
import os.path as osp
import statistics
import tempfile
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from cpabmm.engine.config import load_config
from cpabmm.registry import DATASETS
from cpabmm.utils.run_state import fresh_run_state
from .settings import SYNTHETIC_CONFIGS, check_model_names

#: hooks that write files and are left out of these runs
FILE_WRITING_HOOKS = ('AnimationVisualizationHook',)


class LossRecorderHook(Hook):
    """Keeps the total training loss (``loss``) of every iteration."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.losses: List[float] = []

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if outputs is None or 'loss' not in outputs:
            raise ValueError('the training step returned no "loss" to record')
        loss = outputs['loss']
        self.losses.append(float(loss.detach() if isinstance(loss, torch.Tensor) else loss))


def convergence_config(config_root: str, name: str, iterations: int, work_dir: str) -> Config:
    """The synthetic config of model ``name`` set up for a run of at least
    ``iterations`` iterations (whole epochs: the epoch-based schedule stays
    as configured), logging warnings only, with no checkpoints, visualisation
    or validation, in ``work_dir``."""
    check_model_names([name])
    if iterations < 1:
        raise ValueError(f'iterations must be at least 1, got {iterations}')
    cfg = load_config(osp.join(config_root, SYNTHETIC_CONFIGS[name]))
    init_default_scope(cfg.get('default_scope', 'cpabmm'))
    loader = cfg.train_dataloader
    per_epoch = math.ceil(len(DATASETS.build(loader.dataset)) / loader.batch_size)
    cfg.train_cfg.max_epochs = math.ceil(iterations / per_epoch)
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    cfg.default_hooks.checkpoint = None
    cfg.custom_hooks = [hook for hook in cfg.get('custom_hooks', [])
                        if hook['type'] not in FILE_WRITING_HOOKS]
    return cfg


def train_losses(cfg: Config) -> List[float]:
    """The training loss of every iteration of a Runner run of ``cfg``."""
    recorder = LossRecorderHook()
    with fresh_run_state():
        runner = Runner.from_cfg(cfg)
        runner.register_hook(recorder)
        runner.train()
    return recorder.losses


def convergence(config_root: str, name: str, iterations: int,
                window: int = 20) -> Dict[str, float]:
    """Train model ``name``'s synthetic config for ``iterations`` iterations
    (rounded up to whole epochs) and return the mean loss of the first and
    of the last ``window`` iterations, their ratio and the iterations run."""
    with tempfile.TemporaryDirectory() as work_dir:
        losses = train_losses(convergence_config(config_root, name, iterations, work_dir))
    window = min(window, len(losses))
    first = statistics.mean(losses[:window])
    last = statistics.mean(losses[-window:])
    return {'first': first, 'last': last, 'ratio': last / first,
            'iterations': float(len(losses)), 'window': float(window)}
