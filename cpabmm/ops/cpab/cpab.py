"""The ``CPAB`` transformation: tessellation, basis, prior and the dispatcher
between the compiled kernels and the PyTorch reference path."""
import logging
from functools import lru_cache
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from torch import Tensor

from . import checks, function, reference
from .function import BUILD_COMMAND, backend_name
from .prior import covariance_cpa, sample_gaussian
from .tessellation import Tessellation

BACKENDS = ('auto', 'torch', 'cpp', 'cuda')
_HALF_TYPES = (torch.float16, torch.bfloat16)
_fallback_warned = set()
_OVERFLOW = 'cpab-overflow'   # key of the once-per-process warning


@lru_cache(maxsize=None)
def _tessellation(nc: Tuple[int, int], zero_boundary: bool,
                  volume_preservation: bool) -> Tessellation:
    """One tessellation (and its basis) per configuration and process."""
    return Tessellation(nc, zero_boundary, volume_preservation)


def _warn_overflow(op: str, what: str, bad_theta: Tensor, total: int,
                   dtype: torch.dtype) -> None:
    """The once-per-process warning of an overflowed integration."""
    passed = {'output': 'in training NonFiniteLossHook then stops or skips the step',
              'gradient': 'the optimiser step takes it; NonFiniteLossHook stops at the next '
                          'non-finite loss'}[what]
    checks.warn_once(_OVERFLOW, (
        f'CPAB.{op} overflowed: {len(bad_theta)} of {total} finite thetas '
        f'(norms up to {bad_theta.norm(dim=1).max().item():.3g}; prior samples of '
        f'output_variance=1 have about 10 on 4x4 cells) gave a non-finite {dtype} {what}, '
        f'which is passed on as it is ({passed}). Keep theta small: sample with a '
        'smaller output_variance; CPABMotion '
        'bounds the norms by 4 * (1 + iterations) (fast solver) or about adam_lr * '
        'adam_iterations * sqrt(d) (Adam). Reported once per process.'))


def _compiled_ops(device: torch.device):
    """The compiled op module if it is built for ``device``, else None."""
    return function if function.compiled_available(device) else None


class CPAB(torch.nn.Module):
    """Continuous piecewise-affine based (CPAB) transformations of [0, 1]^2.

    The domain is split into ``nx x ny`` cells of 4 triangles each; a theta
    ``[d]`` defines a continuous piecewise-affine velocity field through an
    orthonormal basis of the constraint null space, and the transformation is
    the flow of that field at time 1, integrated exactly.

    Args:
        tess_size: cells ``(nx, ny)`` (an int means ``(n, n)``).
        zero_boundary: zero normal velocity on the domain boundary, so the
            domain maps onto itself. Points outside it then move with the
            velocity of their nearest boundary point (parallel to the
            boundary; corners are fixed). When False (default, as in CPABMM),
            the boundary triangles' affine fields extend continuously outside.
        volume_preservation: divergence-free fields (area preserving).
        backend: ``'auto'`` (compiled kernels when built for the device, else
            the PyTorch reference with one logged warning), or force
            ``'torch'``, ``'cpp'`` or ``'cuda'``.
        device: device of the basis buffer (inputs on other devices work too;
            the basis is cast once per dtype and device and cached).
        max_iterations: bound on crossings plus sub-steps per point in the
            reference integrator.

    Example:
        >>> T = CPAB((4, 4))
        >>> T.dim
        58
        >>> theta = T.sample_theta(2)
        >>> T.transform(theta, torch.rand(10, 2)).shape
        torch.Size([2, 10, 2])
    """

    basis: Tensor

    def __init__(self, tess_size: Union[int, Sequence[int]] = (4, 4),
                 zero_boundary: bool = False, volume_preservation: bool = False,
                 backend: str = 'auto', device: Optional[torch.device] = None,
                 max_iterations: int = reference.MAX_ITERATIONS):
        super().__init__()
        if isinstance(tess_size, int):
            tess_size = (tess_size, tess_size)
        if (not isinstance(tess_size, (tuple, list)) or len(tess_size) != 2
                or not all(isinstance(n, int) and n >= 1 for n in tess_size)):
            raise ValueError('tess_size must be two positive ints (nx, ny), '
                             f'got {tess_size!r}')
        if backend not in BACKENDS:
            raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}')
        if not isinstance(max_iterations, int) or max_iterations < 1:
            raise ValueError(f'max_iterations must be a positive int, got {max_iterations!r}')
        self.nc = (int(tess_size[0]), int(tess_size[1]))
        self.zero_boundary = bool(zero_boundary)
        self.volume_preservation = bool(volume_preservation)
        self.backend = backend
        self.max_iterations = max_iterations
        self.tessellation = _tessellation(self.nc, self.zero_boundary,
                                          self.volume_preservation)
        self.register_buffer(
            'basis', torch.from_numpy(self.tessellation.basis).to(device), persistent=False)
        self._cast: Dict[Tuple[torch.dtype, torch.device], Tuple[Tensor, Tensor]] = {}

    # ------------------------------------------------------------------
    # Properties
    # ------------------------------------------------------------------
    @property
    def dim(self) -> int:
        """Dimension ``d`` of theta."""
        return self.basis.shape[1]

    @property
    def num_triangles(self) -> int:
        return self.tessellation.num_triangles

    def extra_repr(self) -> str:
        return (f'tess_size={self.nc}, zero_boundary={self.zero_boundary}, '
                f'volume_preservation={self.volume_preservation}, '
                f'dim={self.dim}, backend={self.backend!r}')

    def _apply(self, fn, recurse=True):
        """Module moves keep the basis in float64 and drop the casts."""
        super()._apply(fn, recurse)
        self.basis = self.basis.to(torch.float64)
        self._cast = {}
        return self

    def basis_as(self, dtype: torch.dtype, device: torch.device) -> Tensor:
        """The basis cast to ``dtype`` on ``device`` (cached)."""
        return self._cast_basis(dtype, device)[0]

    def _cast_basis(self, dtype: torch.dtype, device: torch.device) -> Tuple[Tensor, Tensor]:
        """The basis in ``dtype`` on ``device`` and its columns as per-triangle
        matrices ``[d, nT, 2, 3]`` (cached: a view of a tensor is an operation
        too, issue #19)."""
        key = (dtype, torch.device(device))
        if key not in self._cast:
            basis = self.basis.to(device=device, dtype=dtype)
            matrices = basis.T.reshape(-1, self.num_triangles, 2, 3).contiguous()
            self._cast[key] = (basis, matrices)
        return self._cast[key]

    # ------------------------------------------------------------------
    # Parameters
    # ------------------------------------------------------------------
    def svd_rotation(self) -> Tensor:
        """``[d, d]`` orthogonal ``R`` with ``svd_basis = basis @ R`` (float64),
        for optimisers that should see libcpab's kind of basis
        (:attr:`Tessellation.svd_basis`)."""
        rotation = self.tessellation.basis.T @ self.tessellation.svd_basis
        return torch.from_numpy(rotation).to(self.basis.device)

    def theta_to_A(self, theta: Tensor) -> Tensor:
        """Per-triangle matrices ``[T, nT, 2, 3]`` of ``theta [T, d]``."""
        matrices = self._cast_basis(theta.dtype, theta.device)[1]
        return torch.einsum('td,dnij->tnij', theta, matrices)

    def identity(self, n: int = 1, dtype: torch.dtype = torch.float32,
                 device: Optional[torch.device] = None) -> Tensor:
        """``[n, d]`` zeros: the identity transformation."""
        return torch.zeros(n, self.dim, dtype=dtype, device=device)

    def covariance(self, length_scale: float = 0.1,
                   output_variance: float = 1.0) -> Tensor:
        """``[d, d]`` smoothness-prior covariance of theta (float64), libcpab's
        ``covariance_cpa`` (see :mod:`.prior`)."""
        cov = covariance_cpa(self.tessellation.centroids, self.tessellation.basis,
                             length_scale, output_variance)
        return torch.from_numpy(cov).to(self.basis.device)

    def sample_theta(self, n: int = 1, length_scale: float = 0.1,
                     output_variance: float = 1.0,
                     generator: Optional[torch.Generator] = None,
                     dtype: torch.dtype = torch.float32,
                     device: Optional[torch.device] = None) -> Tensor:
        """``[n, d]`` thetas drawn from the smoothness prior."""
        if not isinstance(n, int) or n < 0:
            raise ValueError(f'n must be a non-negative int, got {n!r}')
        cov = covariance_cpa(self.tessellation.centroids, self.tessellation.basis,
                             length_scale, output_variance)
        return sample_gaussian(n, cov, generator, dtype,
                               self.basis.device if device is None else device)

    # ------------------------------------------------------------------
    # Input checks and dispatch
    # ------------------------------------------------------------------
    def _check(self, theta: Tensor, points: Tensor) -> torch.dtype:
        """Validate inputs; return the compute dtype."""
        if not isinstance(theta, Tensor):
            raise ValueError(f'theta must be a torch.Tensor [T, {self.dim}], '
                             f'got {type(theta).__name__}')
        if not isinstance(points, Tensor):
            raise ValueError('points must be a torch.Tensor [P, 2] or [T, P, 2], '
                             f'got {type(points).__name__}')
        for name, value in (('theta', theta), ('points', points)):
            if not value.is_floating_point():
                raise ValueError(f'{name} must be a floating-point tensor '
                                 f'(float16/bfloat16/float32/float64), got {value.dtype}')
        if theta.dim() != 2 or theta.shape[1] != self.dim:
            raise ValueError(f'theta must have shape [T, {self.dim}], '
                             f'got {list(theta.shape)}')
        if not (points.dim() == 2 or (points.dim() == 3 and points.shape[0] == theta.shape[0])) \
                or points.shape[-1] != 2:
            raise ValueError(f'points must have shape [P, 2] or [T={theta.shape[0]}, P, 2] '
                             f'(x first), got {list(points.shape)}')
        if theta.device != points.device:
            raise ValueError(f'theta is on {theta.device} but points are on '
                             f'{points.device}; move both to one device')
        # Checked on the CPU (or everywhere with CPABMM_CHECK_FINITE=1): a
        # check of a CUDA tensor would synchronise (see .checks).
        if checks.has_nonfinite(theta):
            raise ValueError(f'theta has non-finite values (nan or inf) in rows '
                             f'{checks.bad_rows(theta)}: the thetas come from the caller '
                             "(e.g. a motion model's fit), check its inputs")
        if checks.has_nonfinite(points):
            raise ValueError('points have non-finite values (nan or inf) in entries '
                             f'{checks.bad_rows(points)} of their first dimension')
        dtype = torch.promote_types(theta.dtype, points.dtype)
        return torch.float32 if dtype in _HALF_TYPES else dtype

    def _ops(self, device: torch.device) -> Tuple[Callable, Callable]:
        """``(velocity, integrate)`` functions of the backend for ``device``."""
        if self.backend == 'torch':
            return reference.velocity, self._reference_integrate
        if self.backend != 'auto':
            wanted = 'cpu' if self.backend == 'cpp' else 'cuda'
            if device.type != wanted:
                raise ValueError(f"backend={self.backend!r} needs {wanted} tensors, "
                                 f'got tensors on {device}')
        ops = _compiled_ops(device)
        if ops is not None:
            return ops.compiled_velocity, ops.compiled_integrate
        if self.backend != 'auto':
            raise RuntimeError(f'backend={self.backend!r}: the compiled CPAB ops are not '
                               f'built for this device; build them with `{BUILD_COMMAND}` '
                               "in the repository's root or use backend='auto' or 'torch'")
        if device.type not in _fallback_warned:
            _fallback_warned.add(device.type)
            print_log(f'CPAB op on {device.type}: {backend_name(device)}; the reference '
                      f'is slower: build the compiled op with `{BUILD_COMMAND}` in the '
                      "repository's root", logger='current', level=logging.WARNING)
        return reference.velocity, self._reference_integrate

    def runs_compiled(self, device: torch.device) -> bool:
        """Whether the op runs the compiled kernels on ``device``: its backend
        allows them there and they are built for it."""
        device = torch.device(device)
        allowed = {'auto': True, 'torch': False, 'cpp': device.type == 'cpu',
                   'cuda': device.type == 'cuda'}[self.backend]
        return allowed and _compiled_ops(device) is not None

    def _reference_integrate(self, A: Tensor, points: Tensor, nc) -> Tensor:
        out, stats = reference.integrate(A, points, nc, self.max_iterations,
                                         return_stats=True)
        if stats['unfinished']:
            print_log(f"CPAB integration: {stats['unfinished']} trajectories did not "
                      f'reach time 1 (max_iterations={self.max_iterations} reached, or '
                      'the positions overflowed: theta is far too large)',
                      logger='current', level=logging.WARNING)
        return out

    def _apply_field(self, op: str, theta: Tensor, points: Tensor) -> Tensor:
        dtype = self._check(theta, points)
        out_dtype = torch.promote_types(theta.dtype, points.dtype)
        theta_c = theta.to(dtype)
        A, out = self._field(op, theta_c, points.to(dtype))
        out = out.to(out_dtype)
        self._watch_overflow(op, theta_c, A, out)
        return out

    def _field(self, op: str, theta: Tensor, points: Tensor) -> Tuple[Tensor, Tensor]:
        """``(A, out)``: the per-triangle matrices of ``theta`` and the velocity
        or flow (``op``) at ``points``, both of the compute dtype, unchecked."""
        velocity_fn, integrate_fn = self._ops(theta.device)
        field_fn = velocity_fn if op == 'velocity' else integrate_fn
        with torch.autocast(theta.device.type, enabled=False):   # keep dtype
            A = self.theta_to_A(theta)
            if not self.zero_boundary:
                return A, field_fn(A, points, self.nc)
            # outside the domain: the field of the nearest boundary point
            inside = points.clamp(0.0, 1.0)
            out = field_fn(A, inside, self.nc)
            return A, out if op == 'velocity' else out + (points - inside)

    def _watch_overflow(self, op: str, theta: Tensor, A: Tensor, out: Tensor,
                        unchecked_points: Optional[Tensor] = None) -> None:
        """Warn (:class:`~.checks.CPABOverflowWarning`, once per process) when
        the finite ``theta`` gave a non-finite ``out`` or, in the backward pass,
        a non-finite gradient of ``A`` from a finite incoming gradient. The
        values are left as they are. Checked tensors only (see
        :mod:`.checks`); nothing is checked once the warning was given, unless
        the inputs were not checked (:meth:`transform_unchecked`, which passes
        ``unchecked_points``): then a non-finite ``out`` from non-finite
        inputs (nan in, nan out) raises :meth:`transform`'s ``ValueError``."""
        unchecked = unchecked_points is not None
        if not checks.checked(out) or (checks.warned(_OVERFLOW) and not unchecked):
            return
        if not checks.all_finite(out):
            if unchecked:
                self._check(theta, unchecked_points)
            if not checks.warned(_OVERFLOW):
                bad = ~torch.isfinite(out).flatten(1).all(dim=1)
                _warn_overflow(op, 'output', theta.detach()[bad], out.shape[0], out.dtype)
        elif not checks.warned(_OVERFLOW) and A.requires_grad and out.requires_grad:
            # The gradient can overflow where the output just did not. The
            # incoming gradient (kept until A's arrives) is checked only then.
            incoming = {}

            def keep_incoming(grad: Optional[Tensor]) -> None:
                incoming['grad'] = grad

            def check_gradient(grad: Optional[Tensor]) -> None:
                grad_out = incoming.pop('grad', None)
                if grad is None or checks.all_finite(grad):
                    return
                if grad_out is None or checks.all_finite(grad_out):
                    bad = ~torch.isfinite(grad).flatten(1).all(dim=1)
                    _warn_overflow(op, 'gradient', theta.detach()[bad], grad.shape[0],
                                   grad.dtype)

            out.register_hook(keep_incoming)
            A.register_hook(check_gradient)

    # ------------------------------------------------------------------
    # Public operations
    # ------------------------------------------------------------------
    def velocity(self, theta: Tensor, points: Tensor) -> Tensor:
        """Velocity ``[T, P, 2]`` of each theta's field at ``points``
        (``[P, 2]`` shared or ``[T, P, 2]``, x first)."""
        return self._apply_field('velocity', theta, points)

    def transform(self, theta: Tensor, points: Tensor) -> Tensor:
        """The flow at time 1 of each theta's field: ``[T, P, 2]``.

        Differentiable with respect to ``theta`` and ``points``. The output
        has the inputs' (promoted) dtype; the integration runs in float64,
        float16/bfloat16 inputs are passed on as float32.

        Non-finite ``theta`` or ``points`` raise a ``ValueError``. A finite
        theta so large that the flow overflows (norms of about 1e3 in
        float32) gives inf/nan, passed on as they are, with one
        :class:`~.checks.CPABOverflowWarning` per process (also for a
        gradient that overflows in the backward pass). Values are checked on
        CPU tensors only, unless ``CPABMM_CHECK_FINITE=1`` (a check of a CUDA
        tensor synchronises; see :mod:`.checks`).
        """
        return self._apply_field('transform', theta, points)

    def transform_unchecked(self, theta: Tensor, points: Tensor, watch: bool = True) -> Tensor:
        """:meth:`transform` for callers whose inputs are valid: ``theta``
        ``[T, d]`` and ``points`` ``[P, 2]`` or ``[T, P, 2]`` of one float32 or
        float64 dtype on one device (e.g. a motion model's own thetas). Their
        values are not checked, which saves the checks' operations (issue #19).
        With ``watch`` (inputs the caller did not make itself) the output still
        is: non-finite inputs then raise :meth:`transform`'s ``ValueError``
        and an overflow warns; without it nothing is checked (for callers
        whose thetas are bounded and whose points are finite). Other inputs
        (mixed or half dtypes) take :meth:`transform`."""
        if theta.dtype != points.dtype or theta.dtype in _HALF_TYPES:
            return self.transform(theta, points)
        A, out = self._field('transform', theta, points)
        if watch:
            self._watch_overflow('transform', theta, A, out, unchecked_points=points)
        return out

    def uniform_grid(self, size: Sequence[int], dtype: torch.dtype = torch.float32,
                     device: Optional[torch.device] = None) -> Tensor:
        """``[h * w, 2]`` points of a uniform ``h x w`` grid over [0, 1]^2
        (row-major, x first, both corners included)."""
        if (not isinstance(size, (tuple, list)) or len(size) != 2
                or not all(isinstance(n, int) and n >= 1 for n in size)):
            raise ValueError(f'size must be two positive ints (h, w), got {size!r}')
        h, w = size
        ys = torch.linspace(0, 1, h, dtype=dtype, device=device)
        xs = torch.linspace(0, 1, w, dtype=dtype, device=device)
        gy, gx = torch.meshgrid(ys, xs, indexing='ij')
        return torch.stack([gx, gy], -1).view(h * w, 2)

    def transform_grid(self, theta: Tensor, size: Sequence[int]) -> Tensor:
        """Transformed uniform grid ``[T, h, w, 2]`` (``out[t, i, j]`` is where
        grid point ``(x_j, y_i)`` goes); the grid is built once and shared."""
        if not isinstance(theta, Tensor):
            raise ValueError(f'theta must be a torch.Tensor [T, {self.dim}], '
                             f'got {type(theta).__name__}')
        dtype = theta.dtype if theta.is_floating_point() else torch.float32
        grid = self.uniform_grid(size, dtype=dtype, device=theta.device)
        return self.transform(theta, grid).view(theta.shape[0], size[0], size[1], 2)
