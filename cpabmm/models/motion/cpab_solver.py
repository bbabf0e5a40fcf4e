"""Keypoints to CPAB parameters: the fast solver and the published Adam loop.

Both find, for each of G independent problems, the theta whose CPAB
transformation maps the control points ``c`` (driving keypoints) onto the
targets ``s`` (source keypoints), in CPAB domain coordinates ([0, 1]^2).

Fast solver (:func:`fit_fast`)
------------------------------
Each step minimises ``|T_theta(c) - s|^2 + w theta' M theta`` linearised
around the current theta, with the penalty ``M = Sigma^-1 + ridge I``
(``Sigma``: the CPAB smoothness prior's covariance), so the under-determined
problem (5 points give 10 equations for 58 unknowns) picks a small, smooth
field. The flow of a CPA field over unit time obeys the implicit midpoint
rule to second order, ``T(c) ~ c + v_theta((c + T(c)) / 2)``, and
``v_theta(x) = V(x) theta`` is linear in theta (``V`` gathers the basis rows
of x's triangle), so:

1. start: the regularised linear least-squares solution of
   ``V(m) theta = s - c`` with ``m = (c + s) / 2``;
2. ``iterations`` Gauss-Newton steps on the exact transformation:
   residual ``r = T_theta(c) - s`` from the CPAB op, Jacobian from the
   midpoint rule, ``J = (I - Dv(m) / 2)^-1 V(m)`` with ``m = (c + T(c)) / 2``
   and ``Dv`` the field's 2x2 linear part at m; rows reweighted so that the
   steps minimise the mean Euclidean keypoint error rather than its square
   (:func:`_robust_scale`); each step shortened to at most ``max_step``.

The weight ``w`` is chosen per problem and per step within a range
(:class:`WeightRule`, :func:`_choose_weights`): the heaviest weight that
still fits the keypoints to a tolerance relative to their motion, but never
so light that the field's energy exceeds a budget that grows with the motion
(the published loop's fixed step budget bounds its thetas in the same way).
A fixed weight skips the choice. Steps are solved in the dual form, an
``m x m`` system for ``m`` residuals (10 per group of 5 keypoints).

Every operation that carries gradients is differentiable, so gradients reach
the keypoints through the unrolled steps (first derivatives of the op only);
the weight choice is piecewise constant and carries none. Batched over all
problems: a handful of small solves instead of hundreds of optimiser steps.

The per-point work of the start and of each step (the CPAB transform of
the control points, the midpoints' triangles, ``V``, the midpoint Jacobian,
the robust factors and the right-hand side) makes the linearised system
``J, b``; the systems come from one of two sources with the same math:
:class:`TorchSystems` (PyTorch ops, differentiable in the keypoints) or,
for fits without gradients where the CPAB op runs its compiled kernels,
:class:`CompiledSystems` (one kernel call per system, in double precision
inside, ``cpab_fit.h``). The minimiser and the weight choice are PyTorch
ops on both.

Few operations per step (issue #19: on a GPU each is a kernel launch): the
compiled systems, and in the PyTorch ones, constant tensors (the basis rows
stored by cell and triangle side, the identities, the weight grid and the
constants of its choice) built once per tessellation, dtype and device
(:class:`SolverTensors`, :class:`WeightGrid`); one gather finds the rows of
the points' triangles, the midpoint Jacobian is one batched 2x2 solve (the
robust factors scale its right-hand side), the products with theta are
einsums, the robust normalisation is one ``rms_norm``, a step is shortened
by one ``addcdiv``, and the CPAB op runs without the input checks of its
public entry (:meth:`~cpabmm.ops.cpab.CPAB.transform_unchecked`: the fit's
thetas are bounded and its keypoints finite). The fit amplifies single
roundings (float32 thetas move by up to 3% with the order of a sum), so its
figures of merit, not its thetas, are what such changes keep
(``tools/benchmark.py motion``; the weight choices are the exact rule's,
in float64).

Adam loop (:func:`fit_adam`)
----------------------------
The published inference: theta from 1e-6 in every entry, Adam (lr 0.01) on
``norm(2 T(c) - 1 - (2 s - 1))`` over all problems at once, detached inputs.
It runs under ``torch.no_grad()`` too (it enables gradients locally). Adam
is not invariant to a rotation of theta's basis: the published loop works in
libcpab's basis, a dense one from a full SVD of the constraints, and ends
with smaller thetas and larger errors than the same loop in our sparse-born
basis. Pass ``rotation`` (:meth:`~cpabmm.ops.cpab.CPAB.svd_rotation`) to run
it in such a basis.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Dict, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from cpabmm.ops.cpab.function import compiled_fit_system

if TYPE_CHECKING:
    from cpabmm.ops.cpab import CPAB

TransformFn = Callable[[Tensor, Tensor], Tensor]

#: The triangle of a cell (0 bottom, 1 right, 2 top, 3 left) that holds a
#: point, by whether the point lies above the cell's diagonal (first index)
#: and above its anti-diagonal (second), as in
#: :func:`~cpabmm.ops.cpab.tessellation.locate_cells`.
_TRIANGLE_BY_SIDES = ((0, 1), (3, 2))


class LinearisedField:
    """``v_theta(x) = V(x) theta``, the field's 2x2 linear part at x and the
    midpoint rule's Jacobian, with the constant tensors they need for one
    tessellation, dtype and device (build it once: :class:`SolverTensors`).

    Args:
        basis: ``[D, d]`` CPAB basis (A-vectors, libcpab layout).
        nc: cells ``(nx, ny)`` of the tessellation.
    """

    def __init__(self, basis: Tensor, nc: Tuple[int, int]):
        like = dict(dtype=basis.dtype, device=basis.device)
        nx, ny = nc
        # [nT, 3, 2, d]: per triangle, the rows multiplying x, y and 1, stored
        # by (cx, cy, above the diagonal, above the anti-diagonal): one gather.
        rows = basis.reshape(-1, 2, 3, basis.shape[1]).transpose(1, 2)
        first = 4 * torch.arange(nx * ny, device=basis.device).view(ny, nx).T
        triangle = first[:, :, None, None] + torch.tensor(_TRIANGLE_BY_SIDES,
                                                           device=basis.device)
        self.rows = rows[triangle].contiguous()                        # [nx, ny, 2, 2, 3, 2, d]
        self.cells = torch.tensor(nc, **like)
        self.cell_range = (torch.zeros(2, **like), self.cells - 1)
        # F.linear(local, *self.sides) = (lx, 1 - lx), exactly.
        self.sides = (torch.tensor([[1.0, 0.0], [-1.0, 0.0]], **like),
                      torch.tensor([0.0, 1.0], **like))
        self.identity = torch.eye(2, **like)

    def gather(self, points: Tensor) -> Tensor:
        """Basis rows of each point's triangle: ``[..., 3, 2, d]``. The
        comparisons of :func:`~cpabmm.ops.cpab.tessellation.locate_cells`
        (the clamped cell, the triangle from the unclamped local
        coordinates), made on both coordinates at once (exactly: no autocast)."""
        with torch.no_grad(), torch.autocast(points.device.type, enabled=False):
            scaled = points * self.cells
            cell = scaled.floor().clamp(*self.cell_range)
            local = scaled - cell                                      # (lx, ly)
            sides = F.linear(local, *self.sides) < local[..., 1:]      # lx < ly, 1 - lx < ly
            key = torch.cat([cell, sides], dim=-1).long().unbind(-1)
        return self.rows[key]

    @staticmethod
    def velocity_matrix(rows: Tensor, points: Tensor, scale: Optional[Tensor] = None) -> Tensor:
        """``V(x)``: ``[..., 2, d]`` with ``v_theta(x) = V(x) @ theta``; with
        ``scale`` ``[..., 1]``, each point's ``V`` times its factor."""
        homogeneous = F.pad(points, (0, 1), value=1.0)                 # (x, y, 1)
        if scale is not None:
            homogeneous = homogeneous * scale
        return torch.einsum('...k,...kjd->...jd', homogeneous, rows)

    @staticmethod
    def linear_part(rows: Tensor, theta: Tensor) -> Tensor:
        """The field's 2x2 linear part ``Dv`` at each point: ``[G, n, 2, 2]``
        for rows ``[G, n, 3, 2, d]`` and theta ``[G, d]``."""
        return torch.einsum('gnjid,gd->gnij', rows[:, :, :2], theta)

    def jacobian(self, rows: Tensor, points: Tensor, theta: Tensor,
                 scale: Optional[Tensor] = None) -> Tensor:
        """The midpoint rule's Jacobian ``(I - Dv / 2)^-1 V`` at ``points``
        ``[G, n, 2]`` (rows ``[G, n, 3, 2, d]`` from :meth:`gather`, theta
        ``[G, d]``): ``[G, n, 2, d]``, each point's rows times its factor in
        ``scale`` ``[G, n, 1]`` if given. The 2x2 systems are solved by LU
        without a check of the result (``solve_ex``: no host synchronisation;
        ``I - Dv / 2`` is near the identity for the solver's thetas)."""
        damped = torch.add(self.identity, self.linear_part(rows, theta), alpha=-0.5)
        return torch.linalg.solve_ex(damped, self.velocity_matrix(rows, points, scale))[0]


@dataclass(frozen=True)
class WeightRule:
    """How the fast solver picks each problem's penalty weight.

    Args:
        lightest, heaviest: range of the penalty weight (equal: a fixed weight).
        tolerance: residual the fit aims for, as a fraction of the motion
            ``|s - c|`` (both over all points of a problem).
        slack: where the tolerance is out of reach, accept residuals up to
            this factor times the least one of the range.
        budget: largest energy ``theta' M theta`` a step may reach, times
            ``motion ** 1.5``, unless the heaviest weight is needed to stay
            within it. (The published loop's thetas grow faster than the
            motion: their prior energy about doubles from the fixture's
            pairs to motions twice as large.)
        motion_square: ``[G, 1, 1]`` mean squared motion ``|s - c|^2`` of
            each problem (float64); :attr:`motion` is its root.

    The fields from ``motion_square`` on are set once per fit by
    :meth:`for_motion` (see :meth:`SolverTensors.rule_for`), for every
    choice of the fit, in float64 on the fit's device: ``thresholds``
    ``[G, 1, 2]``, the squared residual ``(tolerance * motion) ** 2 * m / 2``
    for ``m`` residuals per problem and the energy ``budget * motion **
    1.5``; ``weight_grid``, the weights tried (:class:`WeightGrid`).
    """

    lightest: float
    heaviest: float
    tolerance: float
    slack: float
    budget: float
    motion_square: Optional[Tensor] = None
    thresholds: Optional[Tensor] = None
    weight_grid: Optional[WeightGrid] = None

    @property
    def fixed(self) -> bool:
        return self.lightest == self.heaviest

    @property
    def motion(self) -> Tensor:
        """``[G]`` RMS motion of each problem."""
        return self.motion_square.view(-1).sqrt()

    def grid(self, per_decade: int = 16, device: Optional[torch.device] = None) -> Tensor:
        """The weights tried: geometric from ``lightest`` to ``heaviest``
        (float64, made on ``device``: no copy from the host)."""
        steps = math.ceil(per_decade * math.log10(self.heaviest / self.lightest)) + 1
        return torch.logspace(math.log10(self.lightest), math.log10(self.heaviest), steps,
                              dtype=torch.float64, device=device)

    def for_motion(self, motion_square: Tensor, weight_grid: Optional[WeightGrid] = None,
                   residuals: int = 2) -> WeightRule:
        """The rule for problems of mean squared motion ``motion_square``
        ``[G, 1, 1]`` (float64); with ``weight_grid``, also the thresholds of
        ``residuals`` (m) residuals per problem (once per fit instead of once
        per choice)."""
        if weight_grid is None:
            return replace(self, motion_square=motion_square)
        thresholds = motion_square.pow(weight_grid.exponents) * weight_grid.scales(residuals)
        return replace(self, motion_square=motion_square, thresholds=thresholds,
                       weight_grid=weight_grid)


class WeightGrid:
    """The weights a :class:`WeightRule` tries and the constants of its
    choice (:func:`_choose_weights`, float64) on one device.

    Args:
        rule: the rule (its range and slack).
        out_dtype: dtype of the chosen weights (the fit's).
        device: where the fit runs.
    """

    def __init__(self, rule: WeightRule, out_dtype: torch.dtype, device: torch.device):
        self.rule = rule
        self.weights = rule.grid(device=device)                        # [L], float64
        self.column = self.weights[:, None]                            # [L, 1]
        self.chosen = self.weights.to(out_dtype).view(-1, 1, 1)        # [L, 1, 1]
        # The curves (|a|^2, energy) [G, L, 2] are compared, scaled by (w^2, 1),
        # with the thresholds: residual^2 = w^2 |a|^2. The heaviest weight's
        # energy is scaled by 0, so that at most L - 1 energies count.
        self.curve_scale = torch.stack([self.weights.square(), torch.ones_like(self.weights)], 1)
        self.curve_scale[-1, 1] = 0.0
        # (slack w_0 |a_0|)^2: slack times the least residual of the range, squared.
        self.first_scale = torch.stack([rule.slack ** 2 * self.weights[0].square(),
                                        torch.zeros_like(self.weights[0])])
        # index = max(L - 1 - (residuals over the target), energies over the budget)
        self.index_offset = torch.tensor([len(self.weights) - 1, 0], device=device)
        self.index_sign = torch.tensor([-1, 1], device=device)
        # thresholds = (mean squared motion) ** (1, 0.75) * scales(m)
        self.exponents = torch.tensor([1.0, 0.75], dtype=torch.float64, device=device)
        self._scales: Dict[int, Tensor] = {}
        self._shifts: Dict[int, Tensor] = {}

    def scales(self, residuals: int) -> Tensor:
        """``(tolerance^2 m / 2, budget)`` for ``m`` residuals per problem."""
        if residuals not in self._scales:
            self._scales[residuals] = torch.tensor(
                [self.rule.tolerance ** 2 * residuals / 2, self.rule.budget],
                dtype=torch.float64, device=self.weights.device)
        return self._scales[residuals]

    def shifts(self, residuals: int) -> Tensor:
        """``w I`` ``[L, m, m]`` for every weight (the Cholesky choice)."""
        if residuals not in self._shifts:
            eye = torch.eye(residuals, dtype=self.weights.dtype, device=self.weights.device)
            self._shifts[residuals] = self.weights[:, None, None] * eye
        return self._shifts[residuals]


#: Devices whose weight choice uses one eigendecomposition per problem (see
#: :func:`_choose_weights`). Elsewhere (GPUs) it solves the shifted systems of
#: the whole weight grid with batched Cholesky factorisations: no
#: eigendecomposition (161 ``syevbj`` kernels per frame on CUDA) and no host
#: synchronisation. On the CPU, where nothing synchronises, one ``eigh`` of the
#: ``100 x 100`` global system costs as much as 10 Cholesky factorisations and
#: the grid needs 65, so the CPU keeps it. Both pick the exact rule's weights.
EIGH_DEVICES = ('cpu',)


class SolverTensors:
    """The fast solver's constant tensors for one tessellation, dtype and
    device, built once and reused by every fit (see
    :meth:`cpabmm.models.motion.cpab_motion._Tessellated.solver_tensors`).

    Args:
        basis: ``[D, d]`` CPAB basis in the dtype and on the device of the fits.
        nc: cells ``(nx, ny)`` of the tessellation.
        inverse_penalty: ``[d, d]`` inverse of the matrix ``M`` of the
            penalty ``theta' M theta``, in the same dtype and on the same device.
        rule: the weight rule (its grid).
        compiled: the compiled kernels' systems for the tessellation, where
            its op runs them (fits without gradients use them).
    """

    def __init__(self, basis: Tensor, nc: Tuple[int, int], inverse_penalty: Tensor,
                 rule: WeightRule, compiled: Optional[CompiledSystems] = None):
        like = dict(dtype=inverse_penalty.dtype, device=inverse_penalty.device)
        self.field = LinearisedField(basis, nc)
        self.compiled = compiled
        self.inverse_penalty = inverse_penalty
        self.origin = torch.zeros(1, len(inverse_penalty), **like)    # theta = 0
        # F with F F' = M^-1 (float64): exact Gram matrices for the Cholesky choice.
        self.gram_factor = torch.linalg.cholesky(inverse_penalty.double())
        self.weight_grid = WeightGrid(rule, like['dtype'], like['device'])
        self._identities: Dict[int, Tensor] = {}

    def identity(self, size: int) -> Tensor:
        """``[size, size]`` identity in the working dtype."""
        if size not in self._identities:
            self._identities[size] = torch.eye(size, dtype=self.inverse_penalty.dtype,
                                               device=self.inverse_penalty.device)
        return self._identities[size]

    def rule_for(self, rule: WeightRule, motion_square: Tensor, residuals: int) -> WeightRule:
        """``rule`` for problems of mean squared motion ``motion_square``
        ``[G, 1, 1]`` with ``residuals`` residuals each (its thresholds in
        float64, the dtype of every weight choice)."""
        return rule.for_motion(motion_square.double(), self.weight_grid, residuals)


def _grid_curves_eigh(gram: Tensor, b: Tensor, grid: WeightGrid) -> Tensor:
    """``[G, L, 2]``: ``|a|^2`` and the energy ``a' K a`` of the solutions of
    ``(K + w I) a = b`` for every weight ``w`` of ``grid``, from one
    eigendecomposition per problem, in float64 (in float32 a few problems'
    weights were one grid step off the exact rule's)."""
    # With K = U diag(k) U' and c = U'b: |a|^2 = sum c^2 / (k + w)^2 and
    # a'Ka = sum k c^2 / (k + w)^2, one product for both.
    k, U = torch.linalg.eigh(gram.double())
    k = k.clamp(min=0)
    c2 = torch.einsum('gim,gi->gm', U, b.double()).square()
    shrink = (k[:, None] + grid.column).pow(-2)                        # [G, L, m]
    return shrink @ torch.stack([c2, k * c2], dim=2)


def _grid_curves_cholesky(gram: Tensor, b: Tensor, grid: WeightGrid) -> Tensor:
    """As :func:`_grid_curves_eigh`, by a Cholesky factorisation of every
    ``K + w I`` (batched over ``[G, L]``, float64: the lightest weights are
    about 1e-6 of ``K``'s largest eigenvalue). No eigendecomposition, no host
    synchronisation (``cholesky_ex`` does not check its result; ``K + w I``
    is positive definite for weights above the rounding noise of ``K``, see
    :func:`_exact_gram`)."""
    factor, _ = torch.linalg.cholesky_ex(gram[:, None] + grid.shifts(b.shape[1]))
    rhs = b.double().view(b.shape[0], 1, -1, 1)                        # [G, 1, m, 1]
    a = torch.cholesky_solve(rhs, factor).squeeze(-1)                  # [G, L, m]
    energy = torch.einsum('glm,gmk,glk->gl', a, gram, a)
    return torch.stack([a.square().sum(dim=2), energy], dim=2)


def _exact_gram(J: Tensor, factor: Tensor) -> Tensor:
    """``J M^-1 J'`` ``[G, m, m]`` in float64 as ``(J F) (J F)'`` for ``F F' =
    M^-1``: positive semidefinite to float64 rounding, so that the Cholesky
    factorisations of :func:`_grid_curves_cholesky` hold for weights far
    below float32's rounding of the Gram matrix (about 1e-10 here). No
    gradient."""
    with torch.no_grad():
        spread = J.double() @ factor
        return torch.einsum('gmd,gkd->gmk', spread, spread)


def _choose_weights(gram: Tensor, b: Tensor, rule: WeightRule) -> Tensor:
    """Per problem, the penalty weight of the next step (``[G, 1, 1]``, no
    gradient).

    On the linearised problem, the step of weight ``w`` has a residual that
    grows with ``w`` and an energy ``theta' M theta`` that shrinks with it. The
    weight is the heaviest one of the rule's range whose residual is
    within ``rule.tolerance`` of the motion (or within ``rule.slack`` times
    the least residual of the range, where that tolerance is out of reach),
    but never lighter than the lightest one that keeps the energy within
    ``rule.budget``: the smoothest field that fits, the best fit that stays
    small. Every weight of a fine geometric grid over the range (factor
    ``10 ** (1 / 16)``) is tried at once, in float64: from one
    eigendecomposition per problem on the devices of :data:`EIGH_DEVICES`
    (the CPU), else from batched Cholesky solves of every shifted system
    (:func:`_grid_curves_cholesky`). Residuals are compared squared, and the
    pick is a count over masks, so no value leaves the device. ``rule``
    comes from :meth:`SolverTensors.rule_for` (its weight grid and thresholds).
    """
    grid = rule.weight_grid
    with torch.no_grad():
        if b.device.type in EIGH_DEVICES:
            curves = _grid_curves_eigh(gram, b, grid)
        else:
            curves = _grid_curves_cholesky(gram, b, grid)
        # (residual target, energy budget) [G, 1, 2]: the target is at least
        # slack times the least residual, the lightest weight's.
        limits = torch.maximum(rule.thresholds, curves[:, :1] * grid.first_scale)
        over = (curves * grid.curve_scale > limits).sum(dim=1)        # [G, 2]
        index = torch.addcmul(grid.index_offset, over, grid.index_sign).amax(dim=1)
    return grid.chosen[index]


def _minimiser(J: Tensor, b: Tensor, tensors: SolverTensors, rule: WeightRule) -> Tensor:
    """The theta of a regularised Gauss-Newton step: the minimiser of
    ``|J theta - b|^2 + w theta' M theta`` ``[G, d]``, with each problem's
    weight ``w`` chosen by :func:`_choose_weights` (for the step from
    ``theta_0`` with residual ``r``, ``b = J theta_0 - r``).

    Solved in its dual form, an ``m x m`` system for ``m`` residuals (10 for
    a group of 5 keypoints) instead of ``d x d``: theta is ``M^-1 J' a``
    where ``(J M^-1 J' + w I) a = b``. J: ``[G, m, d]``, b: ``[G, m]``.
    """
    spread = J @ tensors.inverse_penalty                               # [G, m, d]
    gram = torch.einsum('gmd,gkd->gmk', spread, J)                     # [G, m, m]
    identity = tensors.identity(b.shape[1])
    if rule.fixed:
        shifted = torch.add(gram, identity, alpha=rule.lightest)
    else:
        if b.device.type in EIGH_DEVICES:
            weight = _choose_weights(gram, b, rule)
        else:
            weight = _choose_weights(_exact_gram(J, tensors.gram_factor), b, rule)
        shifted = torch.addcmul(gram, weight, identity)
    # solve_ex: linalg.solve's LU without its check of the result (a host
    # synchronisation on GPUs); the systems are positive definite.
    a = torch.linalg.solve_ex(shifted, b)[0]
    return torch.einsum('gmd,gm->gd', spread, a)


def _robust_scale(residual: Tensor, floor_square: Tensor) -> Tensor:
    """Per-point factors for the rows of a Gauss-Newton step that turn its
    squared-error objective into the mean Euclidean distance the fit is
    judged by (iteratively reweighted least squares): ``(|r_i|^2 +
    floor^2)^(-1/4)``, normalised to a root mean square of 1 per problem so
    that the penalty weights keep their meaning (``rms_norm``). ``residual``
    ``[G, n, 2]``, ``floor_square`` ``[G, 1, 1]`` keeps points that already
    fit from dominating; factors ``[G, n, 1]``. Differentiable.
    """
    distance = torch.linalg.vector_norm(residual, dim=-1, keepdim=True)
    scale = torch.addcmul(floor_square, distance, distance).pow(-0.25)
    return F.rms_norm(scale, scale.shape[1:])


def _advance(theta: Tensor, step: Tensor, max_step: float) -> Tensor:
    """``theta + step`` with each row of ``step`` shortened to a norm of at
    most ``max_step``."""
    norm = torch.linalg.vector_norm(step, dim=1, keepdim=True).clamp(min=max_step)
    return torch.addcdiv(theta, step, norm, value=max_step)


class TorchSystems:
    """The linearised systems of :func:`fit_fast` from PyTorch ops:
    differentiable in the keypoints, and the reference of
    :class:`CompiledSystems`.

    Args:
        field: the tessellation's :class:`LinearisedField`.
        transform: ``transform(theta [G, d], points [G, n, 2]) -> [G, n, 2]``.
    """

    def __init__(self, field: LinearisedField, transform: TransformFn):
        self.field = field
        self.transform = transform

    def start(self, control: Tensor, target: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """The linear start's system: ``V(m)`` ``[G, 2n, d]`` at the midpoints
        ``m = (c + s) / 2``, the motion ``s - c`` ``[G, 2n]`` and its mean
        square ``[G, 1, 1]``."""
        G, n, _ = control.shape
        motion = target - control
        mean_square = motion.square().sum(dim=2, keepdim=True).mean(dim=1, keepdim=True)
        midpoint = torch.lerp(control, target, 0.5)
        V = self.field.velocity_matrix(self.field.gather(midpoint), midpoint)
        return V.reshape(G, 2 * n, -1), motion.reshape(G, 2 * n), mean_square

    def step(self, theta: Tensor, control: Tensor, target: Tensor, mean_square: Tensor,
             robust: float) -> Tuple[Tensor, Tensor]:
        """A Gauss-Newton step's system at ``theta``: ``J`` ``[G, 2n, d]`` and
        ``b = J theta - r`` ``[G, 2n]``, rows reweighted by
        :func:`_robust_scale` (floor ``robust`` times the RMS motion)."""
        G, n, _ = control.shape
        moved = self.transform(theta, control)
        midpoint = torch.lerp(control, moved, 0.5)
        residual = moved - target                                      # [G, n, 2]
        scale = None
        if robust > 0:
            # The floor: about robust * RMS motion, at least 1e-6; a smooth
            # function of the keypoints (it carries their gradient).
            scale = _robust_scale(residual, mean_square * robust ** 2 + 1e-12)   # [G, n, 1]
        J = self.field.jacobian(self.field.gather(midpoint), midpoint, theta, scale)
        predicted = torch.einsum('gnjd,gd->gnj', J, theta)
        b = (predicted - residual if scale is None
             else torch.addcmul(predicted, residual, scale, value=-1))
        return J.reshape(G, 2 * n, -1), b.reshape(G, 2 * n)


#: dtypes of the fits that :class:`CompiledSystems` serves
COMPILED_DTYPES = (torch.float32, torch.float64)


class CompiledSystems:
    """The systems of :class:`TorchSystems` from the compiled kernels, one
    call each (:func:`~cpabmm.ops.cpab.function.compiled_fit_system`; double
    precision inside): no gradient, for fits on detached keypoints, in
    float32 or float64 (:data:`COMPILED_DTYPES`).

    Args:
        cpab: the tessellation's CPAB op (its basis, cells, boundary rule and
            ``theta_to_A``); its backend runs the compiled kernels.
        dtype, device: those of the fits.
    """

    def __init__(self, cpab: CPAB, dtype: torch.dtype, device: torch.device):
        self.cpab = cpab
        self.basis = cpab.basis_as(dtype, device)

    def _system(self, A: Optional[Tensor], control: Tensor, target: Tensor,
                robust: float) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        return compiled_fit_system(A, self.basis, control, target, self.cpab.nc, robust,
                                   self.cpab.zero_boundary)

    def start(self, control: Tensor, target: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """:meth:`TorchSystems.start`."""
        return self._system(None, control, target, 0.0)

    def step(self, theta: Tensor, control: Tensor, target: Tensor, mean_square: Tensor,
             robust: float) -> Tuple[Tensor, Tensor]:
        """:meth:`TorchSystems.step` (the kernel computes the mean square
        motion itself)."""
        with torch.autocast(theta.device.type, enabled=False):        # A in theta's dtype
            A = self.cpab.theta_to_A(theta)
        return self._system(A, control, target, robust)[:2]


Systems = Union[TorchSystems, CompiledSystems]


def fit_fast(control: Tensor, target: Tensor, systems: Systems, tensors: SolverTensors,
             rule: WeightRule, iterations: int = 3, robust: float = 0.05,
             max_step: float = 4.0) -> Tensor:
    """Fast keypoint-to-CPAB fit (see the module docstring).

    Args:
        control: ``[G, n, 2]`` driving keypoints in domain coordinates.
        target: ``[G, n, 2]`` source keypoints in domain coordinates.
        systems: where the linearised systems come from:
            :class:`TorchSystems` (differentiable) or :class:`CompiledSystems`.
        tensors: the tessellation's constant tensors in the keypoints' dtype
            and on their device.
        rule: how each problem's penalty weight is chosen.
        iterations: Gauss-Newton steps after the linear start.
        robust: reweight the points towards the mean Euclidean error (0:
            plain least squares), see :func:`_robust_scale`.
        max_step: largest norm of one step in theta.
    Returns:
        ``[G, d]`` theta, differentiable in ``control`` and ``target`` with
        :class:`TorchSystems`.
    """
    V, b, mean_square = systems.start(control, target)
    if not rule.fixed:
        with torch.no_grad():
            rule = tensors.rule_for(rule, mean_square, b.shape[1])
    theta = _advance(tensors.origin, _minimiser(V, b, tensors, rule), max_step)
    for _ in range(iterations):
        J, b = systems.step(theta, control, target, mean_square, robust)
        theta = _advance(theta, _minimiser(J, b, tensors, rule) - theta, max_step)
    return theta


def fit_adam(control: Tensor, target: Tensor, transform: TransformFn, dim: int,
             iterations: int, lr: float = 0.01, rotation: Optional[Tensor] = None) -> Tensor:
    """The published per-forward Adam loop (detached inputs, theta detached).

    The loss is the norm, over all problems together, of the difference in
    [-1, 1] units: ``norm(2 T(c) - 1 - (2 s - 1))``. With ``rotation`` ``R``
    (``[d, d]``, orthogonal), Adam runs on ``phi = R' theta``, i.e. in the
    basis ``basis @ R``; theta is returned either way.
    """
    control, target = control.detach(), target.detach()
    to_theta = (lambda phi: phi) if rotation is None else (lambda phi: phi @ rotation.T)
    with torch.enable_grad():
        phi = torch.full((control.shape[0], dim), 1e-6, dtype=control.dtype,
                         device=control.device, requires_grad=True)
        optimizer = torch.optim.Adam([phi], lr=lr)
        for _ in range(iterations):
            optimizer.zero_grad()
            loss = torch.norm(2 * (transform(to_theta(phi), control) - target))
            loss.backward()
            optimizer.step()
    return to_theta(phi.detach())
