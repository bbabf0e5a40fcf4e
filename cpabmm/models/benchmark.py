"""Timing of the per-frame forward pass."""
from __future__ import annotations

import time
from typing import Dict, Sequence, Union

import torch
from torch import nn


@torch.no_grad()
def benchmark_forward(model: nn.Module, size: Union[int, Sequence[int]] = 256,
                      repeats: int = 3, batch_size: int = 1, seed: int = 0) -> Dict[str, float]:
    """Seconds per forward of ``model`` (an :class:`ImageAnimator`) on random
    images, after one warm-up pass, in eval mode on the model's device.

    Returns:
        dict with ``mean``, ``min`` and ``max`` seconds per call and the
        ``repeats``; a call animates ``batch_size`` frames.
    """
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    source = torch.rand(batch_size, model.num_channels, h, w, generator=generator).to(device)
    driving = torch.rand(batch_size, model.num_channels, h, w, generator=generator).to(device)
    was_training = model.training
    model.eval()
    model.compute_outputs(source, driving)
    times = []
    for _ in range(repeats):
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        model.compute_outputs(source, driving)
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    model.train(was_training)
    return {'mean': sum(times) / len(times), 'min': min(times), 'max': max(times),
            'repeats': float(repeats)}
