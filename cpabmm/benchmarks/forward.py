"""Timing of the per-frame forward pass (``tools/benchmark.py model``)."""
from __future__ import annotations

import os.path as osp
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn
from torch.profiler import ProfilerActivity, profile

from .settings import PUBLISHED_MODELS, check_model_names
from .timing import CallTimer, Stopwatch


def random_frames(size: Union[int, Sequence[int]] = 256, channels: int = 3,
                  batch_size: int = 1, seed: int = 0,
                  device: Optional[torch.device] = None) -> Tuple[Tensor, Tensor]:
    """The random source and driving images of the forward benchmarks (the
    same for our models and the official ones)."""
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    generator = torch.Generator().manual_seed(seed)
    return tuple(torch.rand(batch_size, channels, h, w, generator=generator).to(device)
                 for _ in range(2))


def _under_aten_op(event) -> bool:
    parent = event.cpu_parent
    while parent is not None:
        if parent.name.startswith('aten::'):
            return True
        parent = parent.cpu_parent
    return False


@torch.no_grad()
def count_aten_ops(function: Callable[..., Any], *args: Any) -> int:
    """The ATen operations one call ``function(*args)`` dispatches, under
    ``torch.no_grad()``, after one uncounted call (lazily built state).

    Definition: the CPU profiler's (``torch.profiler``, CPU activity) events
    whose name starts with ``aten::`` and that have no ``aten::`` event
    above them: the operations the Python code calls, not those an operation
    runs inside itself (``aten::conv2d`` counts once, not with its
    ``aten::convolution``/``aten::_convolution``/backend kernel below it),
    so that the count does not depend on how a backend decomposes an op. It
    stands for the per-op overhead on a GPU (a launch or more per op) on a
    machine without one.
    """
    function(*args)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        function(*args)
    return sum(1 for event in prof.events()
               if event.name.startswith('aten::') and not _under_aten_op(event))


def count_forward_ops(model: nn.Module, size: Union[int, Sequence[int]] = 256,
                      seed: int = 0) -> int:
    """:func:`count_aten_ops` of one batch-1 forward (``compute_outputs`` in
    eval mode) of ``model`` (an :class:`ImageAnimator`) on random images."""
    device = next(model.parameters()).device
    source, driving = random_frames(size, model.num_channels, 1, seed, device)
    was_training = model.training
    model.eval()
    try:
        return count_aten_ops(model.compute_outputs, source, driving)
    finally:
        model.train(was_training)


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
    device = next(model.parameters()).device
    source, driving = random_frames(size, model.num_channels, batch_size, seed, device)
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


def benchmark_compiled_forward(model: nn.Module, size: Union[int, Sequence[int]] = 256,
                               repeats: int = 3, batch_size: int = 1,
                               seed: int = 0) -> Dict[str, float]:
    """:func:`benchmark_forward` of ``model`` after compiling its networks in
    place (:func:`cpabmm.models.compile.compile_model`, the mode of its
    device), with ``compile``: the wall and ``compile_cpu`` the CPU seconds
    of the first call, which compiles them (from Inductor's on-disk caches
    when an earlier run compiled the same graphs)."""
    from cpabmm.models.compile import compile_model
    device = next(model.parameters()).device
    source, driving = random_frames(size, model.num_channels, batch_size, seed, device)
    was_training = model.training
    model.eval()
    compile_model(model, device)
    with torch.no_grad(), Stopwatch(device) as watch:
        model.compute_outputs(source, driving)
    model.train(was_training)
    figures = benchmark_forward(model, size, repeats, batch_size, seed)
    figures.update(compile=watch.elapsed.wall, compile_cpu=watch.elapsed.cpu)
    return figures


def build_published(config_root: str, name: str, size: int = 256,
                    device: Optional[torch.device] = None) -> nn.Module:
    """The published architecture of model family ``name`` (random weights)
    for ``size`` x ``size`` frames, on ``device`` (default: the CPU)."""
    from cpabmm.apis import init_model
    check_model_names([name])
    options = None if size == 256 else {'model.image_size': (size, size)}
    return init_model(osp.join(config_root, PUBLISHED_MODELS[name]), device=device or 'cpu',
                      cfg_options=options)


def published_forward_timings(config_root: str, names: Sequence[str], size: int = 256,
                              repeats: int = 3, device: Optional[torch.device] = None,
                              count_ops: bool = False,
                              compile: bool = False) -> Dict[str, Dict[str, float]]:
    """:func:`benchmark_forward` of the published architecture of each model
    family of ``names`` (random weights) at ``size`` x ``size``; with
    ``count_ops``, also ``ops``: :func:`count_forward_ops` of the model; with
    ``compile``, then the same model compiled (:func:`benchmark_compiled_forward`),
    as ``compiled_mean``, ``compiled_min``, ``compiled_cpu``,
    ``compiled_fit``, ``compile`` and ``compile_cpu``."""
    check_model_names(names)
    results = {}
    for name in names:
        model = build_published(config_root, name, size, device)
        results[name] = benchmark_forward(model, size, repeats)
        if count_ops:
            results[name]['ops'] = count_forward_ops(model, size)
        if compile:
            compiled = benchmark_compiled_forward(model, size, repeats)
            results[name].update({f'compiled_{key}': compiled[key]
                                  for key in ('mean', 'min', 'cpu', 'fit')})
            results[name].update(compile=compiled['compile'],
                                 compile_cpu=compiled['compile_cpu'])
    return results
