"""Timing of the per-frame forward pass (``tools/benchmark.py model``)."""
from __future__ import annotations

import os.path as osp
from typing import Dict, Optional, Sequence, Union

import torch
from torch import nn

from .settings import PUBLISHED_MODELS, check_model_names
from .timing import CallTimer, Stopwatch


@torch.no_grad()
def benchmark_forward(model: nn.Module, size: Union[int, Sequence[int]] = 256,
                      repeats: int = 3, batch_size: int = 1, seed: int = 0) -> Dict[str, float]:
    """Seconds per forward of ``model`` (an :class:`ImageAnimator`) on random
    images, after one warm-up pass, in eval mode on the model's device; the
    time spent in the motion model's ``fit`` is measured within the same
    passes.

    Returns:
        dict with ``mean``, ``min`` and ``max`` wall seconds per call,
        ``cpu``: mean process CPU seconds (all threads) per call, ``fit`` and
        ``fit_cpu``: mean wall and CPU seconds per call inside
        ``model.motion.fit``, and the ``repeats``; a call animates
        ``batch_size`` frames.
    """
    if repeats < 1:
        raise ValueError(f'repeats must be at least 1, got {repeats}')
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    source = torch.rand(batch_size, model.num_channels, h, w, generator=generator).to(device)
    driving = torch.rand(batch_size, model.num_channels, h, w, generator=generator).to(device)
    was_training = model.training
    model.eval()
    model.compute_outputs(source, driving)
    walls, cpu = [], 0.0
    fit = CallTimer(model.motion, 'fit', device)
    with fit:
        for _ in range(repeats):
            with Stopwatch(device) as watch:
                model.compute_outputs(source, driving)
            walls.append(watch.elapsed.wall)
            cpu += watch.elapsed.cpu
    model.train(was_training)
    return {'mean': sum(walls) / repeats, 'min': min(walls), 'max': max(walls),
            'cpu': cpu / repeats, 'fit': fit.total.wall / repeats,
            'fit_cpu': fit.total.cpu / repeats, 'repeats': float(repeats)}


def published_forward_timings(config_root: str, names: Sequence[str], size: int = 256,
                              repeats: int = 3, device: Optional[torch.device] = None
                              ) -> Dict[str, Dict[str, float]]:
    """:func:`benchmark_forward` of the published architecture of each model
    family of ``names`` (random weights) at ``size`` x ``size``."""
    from cpabmm.apis import init_model
    check_model_names(names)
    options = None if size == 256 else {'model.image_size': (size, size)}
    results = {}
    for name in names:
        model = init_model(osp.join(config_root, PUBLISHED_MODELS[name]),
                           device=device or 'cpu', cfg_options=options)
        results[name] = benchmark_forward(model, size, repeats)
    return results
