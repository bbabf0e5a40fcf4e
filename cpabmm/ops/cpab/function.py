"""The compiled CPAB ops (C++ on the CPU, CUDA on GPUs) as autograd Functions.

This module is the seam between :class:`cpabmm.ops.cpab.CPAB` and the kernels
of ``cpabmm._ext`` (sources in ``cpabmm/ops/csrc/cpab``). Its functions take
the per-triangle matrices ``A [T, nT, 2, 3]`` (``nT = 4 * nx * ny``, libcpab's
order) and points ``[P, 2]`` (shared by all ``T`` transformations, never
expanded) or ``[T, P, 2]``, and return ``[T, P, 2]``.

The kernels integrate each point exactly with the algorithm of
:mod:`.reference` (ported in ``cpab_integrate.h``) and compute in float64
internally whatever the tensors' dtype; float16 and
bfloat16 inputs are passed as float32 and the results cast back. Gradients
are analytic (a reverse pass over the segments of each trajectory), for ``A``
and the points. On the CPU they are deterministic (per-chunk partial sums
reduced in a fixed order); on CUDA the gradient of ``A`` is accumulated with
atomic additions, so its last bits may vary from run to run.

These functions check no values: nan in gives nan out (the kernels stop a
trajectory that turns non-finite). :class:`~cpabmm.ops.cpab.CPAB` checks its
inputs and outputs (:mod:`.checks`).
"""
from typing import Optional, Sequence, Tuple

import torch
from torch.autograd.function import once_differentiable

from ._ext import ext_import_error, load_ext

_HALF_DTYPES = (torch.float16, torch.bfloat16)
# builds the compiled op in the environment, from the repository's root
BUILD_COMMAND = 'pip install --no-build-isolation -e .'


def compiled_available(device: torch.device) -> bool:
    """Whether the extension is importable and has kernels for ``device``."""
    ext = load_ext()
    if ext is None:
        return False
    device = torch.device(device)
    if device.type == 'cpu':
        return True
    if device.type == 'cuda':
        return bool(ext.has_cuda()) and torch.cuda.is_available()
    return False


def backend_name(device: torch.device) -> str:
    """The CPAB backend that ``CPAB(backend='auto')`` runs on ``device``, with
    the reason when it is the reference: e.g. ``'compiled C++ (OpenMP, 2
    threads)'``, ``'compiled CUDA'``, ``'PyTorch reference (cpabmm._ext is
    not built: ...)'``."""
    device = torch.device(device)
    if compiled_available(device):
        if device.type == 'cpu':
            return f'compiled C++ (OpenMP, {torch.get_num_threads()} threads)'
        return 'compiled CUDA'
    ext = load_ext()
    if ext is None:
        reason = f'cpabmm._ext is not built: {ext_import_error()}'
    elif device.type == 'cuda' and not ext.has_cuda():
        reason = 'cpabmm._ext was built without CUDA'
    else:
        reason = f'no compiled kernels for {device.type}'
    return f'PyTorch reference ({reason})'


def backends_summary() -> str:
    """One line naming the CPAB backend of the CPU and, when a GPU is
    visible, of CUDA (the test run's header and the tools' logs show it)."""
    parts = [f'cpu: {backend_name(torch.device("cpu"))}']
    if torch.cuda.is_available():
        parts.append(f'cuda: {backend_name(torch.device("cuda"))}')
    elif load_ext() is not None and load_ext().has_cuda():
        parts.append('cuda: kernels built, no CUDA device visible')
    return '; '.join(parts)


class _CompiledOp(torch.autograd.Function):
    """``cpab_<name>`` of the extension with ``cpab_<name>_backward`` as its
    backward (first order)."""

    @staticmethod
    def forward(ctx, name: str, A: torch.Tensor, points: torch.Tensor,
                nx: int, ny: int) -> torch.Tensor:
        ctx.save_for_backward(A, points)
        ctx.op, ctx.nc = name, (nx, ny)
        return getattr(load_ext(), f'cpab_{name}')(A, points, nx, ny)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        A, points = ctx.saved_tensors
        grad_A, grad_points = getattr(load_ext(), f'cpab_{ctx.op}_backward')(
            A, points, grad_out.contiguous(), *ctx.nc)
        return None, grad_A, grad_points, None, None


def _apply(name: str, A: torch.Tensor, points: torch.Tensor,
           nc: Sequence[int]) -> torch.Tensor:
    if load_ext() is None:
        raise RuntimeError(f'cpabmm._ext is not built; build it with `{BUILD_COMMAND}` '
                           "in the repository's root or use backend='torch'")
    nx, ny = (int(n) for n in nc)
    if A.dtype not in _HALF_DTYPES:
        return _CompiledOp.apply(name, A.contiguous(), points.contiguous(), nx, ny)
    out = _CompiledOp.apply(name, A.float().contiguous(), points.float().contiguous(), nx, ny)
    return out.to(A.dtype)


def compiled_velocity(A: torch.Tensor, points: torch.Tensor,
                      nc: Tuple[int, int]) -> torch.Tensor:
    """Velocity ``A_c [x; 1]`` of each point's triangle ``c`` -> ``[T, P, 2]``.

    Differentiable with respect to ``A`` and ``points``.
    """
    return _apply('velocity', A, points, nc)


def compiled_integrate(A: torch.Tensor, points: torch.Tensor,
                       nc: Tuple[int, int]) -> torch.Tensor:
    """The flow of the velocity field at time 1 -> ``[T, P, 2]``.

    Differentiable with respect to ``A`` and ``points`` (analytic backward
    kernel; first order only).
    """
    return _apply('integrate', A, points, nc)


def compiled_fit_system(A: Optional[torch.Tensor], basis: torch.Tensor, control: torch.Tensor,
                        target: torch.Tensor, nc: Tuple[int, int], robust: float,
                        zero_boundary: bool
                        ) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
    """The fast keypoint-to-CPAB solver's linearised system from one kernel
    (``cpab_fit.h``; :class:`~cpabmm.models.motion.cpab_solver.TorchSystems`
    is its PyTorch reference): ``(J [G, 2n, d], b [G, 2n], mean_square)``
    for ``control`` and ``target`` ``[G, n, 2]`` and the ``basis`` ``[6 nT,
    d]``, all of one float32 or float64 dtype on one device. Without ``A``
    the start's system and the problems' mean squared motion ``[G, 1, 1]``;
    with the fields ``A [G, nT, 2, 3]`` of theta a Gauss-Newton step's (robust
    factors with the floor ``robust``, 0 for none) and ``None``. No gradient
    (for fits on detached keypoints)."""
    nx, ny = (int(n) for n in nc)
    A = None if A is None else A.contiguous()
    return tuple(load_ext().fit_system(A, basis, control.contiguous(), target.contiguous(),
                                       nx, ny, float(robust), bool(zero_boundary)))
