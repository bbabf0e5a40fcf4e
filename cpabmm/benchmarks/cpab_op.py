"""Speed of the CPAB op's backends (``tools/benchmark.py cpab``): the
forward and theta-backward of the transformed sampling grids of a training
step, on every backend of every device."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import torch

from cpabmm.ops.cpab import CPAB
from cpabmm.ops.cpab.function import backend_name, compiled_available
from .timing import measure

#: the compiled backend of each device type
COMPILED_BACKENDS = {'cpu': 'cpp', 'cuda': 'cuda'}


@dataclass
class BackendTiming:
    """Median seconds of one step on ``backend`` of ``device``, and the
    reference (``'torch'``) backend's seconds on that device over these."""
    device: str
    backend: str
    seconds: float
    speedup: float


@dataclass
class CPABBenchmark:
    """Every measured backend, and the devices without a compiled backend
    (with the name of what runs there instead)."""
    rows: List[BackendTiming] = field(default_factory=list)
    missing: Dict[str, str] = field(default_factory=dict)


def grid_step(cpab: CPAB, theta: torch.Tensor, grid_size: int) -> Callable[[], None]:
    """One forward and backward (w.r.t. theta) of the transformed grid."""

    def step() -> None:
        leaf = theta.detach().requires_grad_()
        cpab.transform_grid(leaf, (grid_size, grid_size)).sum().backward()

    return step


def available_devices() -> List[torch.device]:
    """The CPU, and the GPU when there is one."""
    return [torch.device('cpu')] + ([torch.device('cuda')] if torch.cuda.is_available() else [])


def cpab_backend_timings(tess: int = 4, thetas: int = 88, grid: int = 64,
                         output_variance: float = 1.0, repeat: int = 3,
                         reference_repeat: int = 1,
                         devices: Optional[Sequence[torch.device]] = None) -> CPABBenchmark:
    """Time :func:`grid_step` for ``thetas`` parameter vectors drawn from the
    smoothness prior (``output_variance``) on a ``tess`` x ``tess``
    tessellation, ``grid`` x ``grid`` points each, float32. The compiled
    backends are timed ``repeat`` times after a warm-up; the reference on
    the CPU ``reference_repeat`` times without one (it has nothing to warm)."""
    result = CPABBenchmark()
    for device in devices or available_devices():
        backends = ['torch']
        if compiled_available(device):
            backends.append(COMPILED_BACKENDS[device.type])
        else:
            result.missing[device.type] = backend_name(device)
        reference = None
        for backend in backends:
            cpab = CPAB((tess, tess), backend=backend).to(device)
            theta = cpab.sample_theta(thetas, output_variance=output_variance, device=device,
                                      generator=torch.Generator().manual_seed(0))
            slow = backend == 'torch' and device.type == 'cpu'
            seconds = measure(grid_step(cpab, theta, grid),
                              reference_repeat if slow else repeat, warmup=not slow,
                              device=device, reduce='median').wall
            reference = reference or seconds
            result.rows.append(BackendTiming(device.type, backend, seconds, reference / seconds))
    return result
