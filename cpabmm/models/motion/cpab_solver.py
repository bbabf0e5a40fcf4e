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

Few operations per step (issue #19: on a GPU each is a kernel launch): the
constant tensors (the basis rows stored by cell and triangle side, the
identities, the weight grid) are built once per tessellation, dtype and
device (:class:`SolverTensors`); one gather finds the rows of the points'
triangles, the midpoint Jacobian is one 2x2 adjugate solve on stacked
entries, and the products with theta are einsums. Every value is computed by
the same floating-point operations as the plain formulation: the fit is
sensitive to single roundings (an LU solve of the 2x2 systems instead of the
adjugate moves float32 thetas by up to 3%), so restructuring must keep them.

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
from typing import Callable, Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

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
        # Entries (d, a) and (b, c) of [[a, b], [c, d]], and both orders of two rows.
        self.adjugate = (torch.tensor([[[1], [0]], [[0], [1]]], device=basis.device),
                         torch.tensor([[[1], [0]], [[1], [0]]], device=basis.device))
        self.orders = torch.tensor([[0, 1], [1, 0]], device=basis.device)

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
    def velocity_matrix(rows: Tensor, points: Tensor) -> Tensor:
        """``V(x)``: ``[..., 2, d]`` with ``v_theta(x) = V(x) @ theta``."""
        row_x, row_y, row_1 = rows.unbind(-3)
        x, y = points.unflatten(-1, (2, 1, 1)).unbind(-3)
        return torch.addcmul(torch.addcmul(row_1, row_x, x), row_y, y)

    @staticmethod
    def linear_part(rows: Tensor, theta: Tensor) -> Tensor:
        """The field's 2x2 linear part ``Dv`` at each point: ``[G, n, 2, 2]``
        for rows ``[G, n, 3, 2, d]`` and theta ``[G, d]``."""
        return torch.einsum('gnjid,gd->gnij', rows[:, :, :2], theta)

    def jacobian(self, rows: Tensor, points: Tensor, theta: Tensor) -> Tensor:
        """The midpoint rule's Jacobian ``(I - Dv / 2)^-1 V`` at ``points``
        ``[G, n, 2]`` (rows ``[G, n, 3, 2, d]`` from :meth:`gather`, theta
        ``[G, d]``): ``[G, n, 1, 2, d]``."""
        damped = torch.add(self.identity, self.linear_part(rows, theta), alpha=-0.5)
        return self._solve_2x2(damped, self.velocity_matrix(rows, points))

    def _solve_2x2(self, matrix: Tensor, rhs: Tensor) -> Tensor:
        """``matrix^-1 @ rhs`` ``[..., 1, 2, k]`` for 2x2 matrices ``[..., 2, 2]``
        and right-hand sides ``[..., 2, k]``, by the adjugate (cheaper than a
        batched LU for tiny systems; the callers' matrices are near the
        identity): the rows ``(d top - b bottom, a bottom - c top)`` over
        ``a d - b c`` for ``[[a, b], [c, d]]``, both negated (the same
        roundings)."""
        coefficients = matrix[..., self.adjugate[0], self.adjugate[1]]  # [..., 2, 2, 1]
        products = coefficients * rhs[..., self.orders, :]   # (d top, a bottom), (b bottom, c top)
        determinant = coefficients.prod(dim=-2, keepdim=True).diff(dim=-3)   # b c - a d
        return products.diff(dim=-3) / determinant


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
        motion: ``[G]`` RMS motion ``|s - c|`` of each problem.

    The fields from ``motion`` on are set once per fit by :meth:`for_motion`
    (see :meth:`SolverTensors.rule_for`), for every choice of the fit:
    ``weights`` ``[L]``, the weights tried (:meth:`grid`) in the choice's
    dtype and on its device; ``fit_target`` and ``energy_limit`` ``[G, 1]``,
    the residual ``tolerance * motion * sqrt(m / 2)`` for ``m`` residuals
    per problem and the energy ``budget * motion ** 1.5``; ``shifts``
    ``[L, m, m]``, ``w I`` for every weight (the batched Cholesky choice).
    """

    lightest: float
    heaviest: float
    tolerance: float
    slack: float
    budget: float
    motion: Optional[Tensor] = None
    weights: Optional[Tensor] = None
    fit_target: Optional[Tensor] = None
    energy_limit: Optional[Tensor] = None
    shifts: Optional[Tensor] = None

    @property
    def fixed(self) -> bool:
        return self.lightest == self.heaviest

    def grid(self, per_decade: int = 16, device: Optional[torch.device] = None) -> Tensor:
        """The weights tried: geometric from ``lightest`` to ``heaviest``
        (float64, made on ``device``: no copy from the host)."""
        steps = math.ceil(per_decade * math.log10(self.heaviest / self.lightest)) + 1
        return torch.logspace(math.log10(self.lightest), math.log10(self.heaviest), steps,
                              dtype=torch.float64, device=device)

    def for_motion(self, motion: Tensor, weights: Optional[Tensor] = None, residuals: int = 2,
                   shifts: Optional[Tensor] = None) -> WeightRule:
        """The rule for problems of RMS motion ``motion`` ``[G]``; with the
        grid ``weights``, also the thresholds of ``residuals`` (m) residuals
        per problem (once per fit instead of once per choice)."""
        if weights is None:
            return replace(self, motion=motion)
        return replace(self, motion=motion, weights=weights, shifts=shifts,
                       fit_target=(self.tolerance * motion * (residuals / 2) ** 0.5)[:, None],
                       energy_limit=(self.budget * motion ** 1.5)[:, None])


#: Devices whose weight choice uses one eigendecomposition per problem (see
#: :func:`_choose_weights`). Elsewhere (GPUs) it solves the shifted systems of
#: the whole weight grid with batched Cholesky factorisations: no
#: eigendecomposition (161 ``syevbj`` kernels per frame on CUDA) and no host
#: synchronisation. On the CPU, where nothing synchronises, one ``eigh`` of the
#: ``100 x 100`` global system costs as much as 10 Cholesky factorisations and
#: the grid needs 65, so the CPU keeps it.
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
    """

    def __init__(self, basis: Tensor, nc: Tuple[int, int], inverse_penalty: Tensor,
                 rule: WeightRule):
        self.field = LinearisedField(basis, nc)
        self.inverse_penalty = inverse_penalty
        # F with F F' = M^-1 (float64): exact Gram matrices for the Cholesky choice.
        self.gram_factor = torch.linalg.cholesky(inverse_penalty.double())
        self.weights = rule.grid().to(inverse_penalty)                # the eigh choice's grid
        self.weights64 = rule.grid(device=inverse_penalty.device)     # the Cholesky choice's
        self._identities: Dict[int, Tensor] = {}
        self._shifts: Dict[int, Tensor] = {}

    def identity(self, size: int) -> Tensor:
        """``[size, size]`` identity in the working dtype."""
        if size not in self._identities:
            self._identities[size] = torch.eye(size, dtype=self.inverse_penalty.dtype,
                                               device=self.inverse_penalty.device)
        return self._identities[size]

    def rule_for(self, rule: WeightRule, motion: Tensor, residuals: int) -> WeightRule:
        """``rule`` for problems of RMS motion ``motion`` ``[G]`` with
        ``residuals`` residuals each, on the path of ``motion``'s device
        (see :data:`EIGH_DEVICES`)."""
        if motion.device.type in EIGH_DEVICES:
            return rule.for_motion(motion, self.weights, residuals)
        if residuals not in self._shifts:
            eye = torch.eye(residuals, dtype=torch.float64, device=motion.device)
            self._shifts[residuals] = self.weights64[:, None, None] * eye
        return rule.for_motion(motion.double(), self.weights64, residuals,
                               self._shifts[residuals])


def _grid_curves_eigh(gram: Tensor, b: Tensor, weights: Tensor) -> Tuple[Tensor, Tensor]:
    """Residual ``|K a - b|`` and energy ``a' K a`` ``[G, L]`` of the solutions
    of ``(K + w I) a = b`` for every weight ``w`` of ``weights`` ``[L]``, from
    one eigendecomposition per problem (in ``gram``'s dtype)."""
    # With K = U diag(k) U', the solution of (K + w I) a = b has
    # |K a - b| = w |a| = w |c / (k + w)| and energy a'Ka, c = U'b.
    k, U = torch.linalg.eigh(gram)
    k = k.clamp(min=0)[:, None]                                        # [G, 1, m]
    c2 = torch.einsum('gim,gi->gm', U, b).square()[:, None]
    shrink = (k + weights[:, None]).square().reciprocal()              # [G, L, m]
    residual = weights * (c2 * shrink).sum(dim=2).sqrt()               # rising in w
    energy = (k * c2 * shrink).sum(dim=2)                              # falling in w
    return residual, energy


def _grid_curves_cholesky(gram: Tensor, b: Tensor, weights: Tensor,
                          shifts: Tensor) -> Tuple[Tensor, Tensor]:
    """As :func:`_grid_curves_eigh`, by a Cholesky factorisation of every
    ``K + w I`` (``shifts``: ``w I`` ``[L, m, m]``; batched over ``[G, L]``,
    float64: the lightest weights are about 1e-6 of ``K``'s largest
    eigenvalue). No eigendecomposition, no host synchronisation
    (``cholesky_ex`` does not check its result; ``K + w I`` is positive
    definite for weights above the rounding noise of ``K``, see
    :func:`_exact_gram`)."""
    factor, _ = torch.linalg.cholesky_ex(gram[:, None] + shifts)      # [G, L, m, m]
    rhs = b.double().view(b.shape[0], 1, -1, 1)                        # [G, 1, m, 1]
    a = torch.cholesky_solve(rhs, factor).squeeze(-1)                  # [G, L, m]
    residual = weights * a.norm(dim=2)                                 # |K a - b| = w |a|
    energy = torch.einsum('glm,gmk,glk->gl', a, gram, a)
    return residual, energy


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
    """Per problem, the penalty weight of the next step (``[G]``, no gradient).

    On the linearised problem, the step of weight ``w`` has a residual that
    grows with ``w`` and an energy ``theta' M theta`` that shrinks with it. The
    weight is the heaviest one of the rule's range whose residual is
    within ``rule.tolerance`` of the motion (or within ``rule.slack`` times
    the least residual of the range, where that tolerance is out of reach),
    but never lighter than the lightest one that keeps the energy within
    ``rule.budget``: the smoothest field that fits, the best fit that stays
    small. Every weight of a fine geometric grid over the range (factor
    ``10 ** (1 / 16)``) is tried at once: from one eigendecomposition per
    problem on the devices of :data:`EIGH_DEVICES` (the CPU), else from
    batched Cholesky solves of every shifted system, in float64
    (:func:`_grid_curves_cholesky`). The pick is a count over masks, so no
    value leaves the device. The choice carries no gradient. ``rule`` comes
    from :meth:`SolverTensors.rule_for` (its grid and thresholds).
    """
    weights = rule.weights
    with torch.no_grad():
        if b.device.type in EIGH_DEVICES:
            residual, energy = _grid_curves_eigh(gram, b, weights)
        else:
            residual, energy = _grid_curves_cholesky(gram, b, weights, rule.shifts)
        target = torch.maximum(rule.fit_target, rule.slack * residual[:, :1])
        fitting = (residual <= target).sum(dim=1) - 1                  # heaviest that fits
        small = (energy > rule.energy_limit).sum(dim=1)                # lightest within
        index = torch.maximum(fitting, small).clamp(max=len(weights) - 1)
    return (weights if weights.dtype == b.dtype else weights.to(b.dtype))[index]


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
        shifted = torch.addcmul(gram, weight.view(-1, 1, 1), identity)
    # solve_ex: linalg.solve's LU without its check of the result (a host
    # synchronisation on GPUs); the systems are positive definite.
    a = torch.linalg.solve_ex(shifted, b)[0]
    return torch.einsum('gmd,gm->gd', spread, a)


def _robust_scale(residual: Tensor, floor_square: Tensor) -> Tensor:
    """Per-point factors for the rows of a Gauss-Newton step that turn its
    squared-error objective into the mean Euclidean distance the fit is
    judged by (iteratively reweighted least squares): ``(|r_i|^2 +
    floor^2)^(-1/4)``, normalised to a root mean square of 1 per problem so
    that the penalty weights keep their meaning. ``residual`` ``[G, n, ...,
    2]`` (the points along dimension 1), ``floor_square`` ``[G, 1, ..., 1]``
    keeps points that already fit from dominating; factors ``[G, n, ...,
    1]``. Differentiable.
    """
    scale = (residual.square().sum(dim=-1, keepdim=True) + floor_square) ** -0.25
    return scale / scale.square().mean(dim=1, keepdim=True).sqrt()


def _limit(step: Tensor, max_step: float) -> Tensor:
    """Shorten each row of ``step`` to a norm of at most ``max_step``."""
    norm = step.norm(dim=1, keepdim=True)
    return step * torch.clamp(max_step / (norm + 1e-12), max=1.0)


def fit_fast(control: Tensor, target: Tensor, transform: TransformFn, tensors: SolverTensors,
             rule: WeightRule, iterations: int = 3, robust: float = 0.05,
             max_step: float = 4.0) -> Tensor:
    """Fast keypoint-to-CPAB fit (see the module docstring).

    Args:
        control: ``[G, n, 2]`` driving keypoints in domain coordinates.
        target: ``[G, n, 2]`` source keypoints in domain coordinates.
        transform: ``transform(theta [G, d], points [G, n, 2]) -> [G, n, 2]``.
        tensors: the tessellation's constant tensors in the keypoints' dtype
            and on their device.
        rule: how each problem's penalty weight is chosen.
        iterations: Gauss-Newton steps after the linear start.
        robust: reweight the points towards the mean Euclidean error (0:
            plain least squares), see :func:`_robust_scale`.
        max_step: largest norm of one step in theta.
    Returns:
        ``[G, d]`` theta, differentiable in ``control`` and ``target``.
    """
    G, n, _ = control.shape
    field = tensors.field
    motion = target - control
    mean_square_motion = motion.square().sum(dim=2).mean(dim=1)
    if not rule.fixed:
        with torch.no_grad():
            rule = tensors.rule_for(rule, mean_square_motion.sqrt(), 2 * n)
    if robust > 0 and iterations > 0:
        # The reweighting's floor is a smooth function of the keypoints (and
        # carries their gradient): about robust * RMS motion, at least 1e-6.
        floor = (robust ** 2 * mean_square_motion + 1e-12).sqrt()
        floor_square = floor.view(G, 1, 1, 1, 1).square()

    midpoint = (control + target) / 2
    V = field.velocity_matrix(field.gather(midpoint), midpoint).reshape(G, 2 * n, -1)
    theta = _limit(_minimiser(V, motion.reshape(G, 2 * n), tensors, rule), max_step)
    for _ in range(iterations):
        moved = transform(theta, control)
        midpoint = (control + moved) / 2
        J = field.jacobian(field.gather(midpoint), midpoint, theta)   # [G, n, 1, 2, d]
        residual = moved - target                                      # [G, n, 2]
        if robust > 0:
            residual = residual.view(G, n, 1, 1, 2)
            scale = _robust_scale(residual, floor_square)
            J, residual = J * scale, residual * scale
        J, residual = J.reshape(G, 2 * n, -1), residual.reshape(G, 2 * n)
        b = torch.einsum('gmd,gd->gm', J, theta) - residual
        theta = theta + _limit(_minimiser(J, b, tensors, rule) - theta, max_step)
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
