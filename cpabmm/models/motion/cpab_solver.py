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
from typing import Callable, Optional, Tuple

import torch
from torch import Tensor

from cpabmm.ops.cpab.tessellation import triangle_index

TransformFn = Callable[[Tensor, Tensor], Tensor]


class LinearisedField:
    """``v_theta(x) = V(x) theta`` and the 2x2 linear part of the field at x.

    Args:
        basis: ``[D, d]`` CPAB basis (A-vectors, libcpab layout).
        nc: cells ``(nx, ny)`` of the tessellation.
    """

    def __init__(self, basis: Tensor, nc: Tuple[int, int]):
        self.nc = nc
        # [nT, 3, 2, d]: per triangle, the rows multiplying x, y and 1.
        self.rows = basis.reshape(-1, 2, 3, basis.shape[1]).transpose(1, 2).contiguous()

    def gather(self, points: Tensor) -> Tensor:
        """Basis rows of each point's triangle: ``[..., 3, 2, d]``."""
        with torch.no_grad():
            index = triangle_index(points, self.nc)
        return self.rows[index]

    @staticmethod
    def velocity_matrix(rows: Tensor, points: Tensor) -> Tensor:
        """``V(x)``: ``[..., 2, d]`` with ``v_theta(x) = V(x) @ theta``."""
        x, y = points[..., 0, None, None], points[..., 1, None, None]
        return torch.addcmul(torch.addcmul(rows[..., 2, :, :], rows[..., 0, :, :], x),
                             rows[..., 1, :, :], y)

    @staticmethod
    def linear_part(rows: Tensor, theta: Tensor) -> Tensor:
        """The field's 2x2 linear part ``Dv`` at each point: ``[G, n, 2, 2]``
        for rows ``[G, n, 3, 2, d]`` and theta ``[G, d]``."""
        return torch.einsum('gnjid,gd->gnij', rows[:, :, :2], theta)


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
        motion: ``[G]`` RMS motion ``|s - c|`` of each problem (set by
            :meth:`for_motion`).
    """

    lightest: float
    heaviest: float
    tolerance: float
    slack: float
    budget: float
    motion: Optional[Tensor] = None

    @property
    def fixed(self) -> bool:
        return self.lightest == self.heaviest

    def grid(self, per_decade: int = 16, device: Optional[torch.device] = None) -> Tensor:
        """The weights tried: geometric from ``lightest`` to ``heaviest``
        (float64, made on ``device``: no copy from the host)."""
        steps = math.ceil(per_decade * math.log10(self.heaviest / self.lightest)) + 1
        return torch.logspace(math.log10(self.lightest), math.log10(self.heaviest), steps,
                              dtype=torch.float64, device=device)

    def for_motion(self, motion: Tensor) -> WeightRule:
        return replace(self, motion=motion)


#: Devices whose weight choice uses one eigendecomposition per problem (see
#: :func:`_choose_weights`). Elsewhere (GPUs) it solves the shifted systems of
#: the whole weight grid with batched Cholesky factorisations: no
#: eigendecomposition (161 ``syevbj`` kernels per frame on CUDA) and no host
#: synchronisation. On the CPU, where nothing synchronises, one ``eigh`` of the
#: ``100 x 100`` global system costs as much as 10 Cholesky factorisations and
#: the grid needs 65, so the CPU keeps it.
EIGH_DEVICES = ('cpu',)


def _grid_curves_eigh(gram: Tensor, b: Tensor, weights: Tensor) -> Tuple[Tensor, Tensor]:
    """Residual ``|K a - b|`` and energy ``a' K a`` ``[G, L]`` of the solutions
    of ``(K + w I) a = b`` for every weight ``w`` of ``weights`` ``[L]``, from
    one eigendecomposition per problem (in ``gram``'s dtype)."""
    # With K = U diag(k) U', the solution of (K + w I) a = b has
    # |K a - b| = w |a| = w |c / (k + w)| and energy a'Ka, c = U'b.
    k, U = torch.linalg.eigh(gram)
    k = k.clamp(min=0)[:, None]                                        # [G, 1, m]
    c2 = (U.transpose(1, 2) @ b.unsqueeze(-1)).squeeze(-1).square()[:, None]
    shrink = 1 / (k + weights[:, None]).square()                       # [G, L, m]
    residual = weights * (c2 * shrink).sum(dim=2).sqrt()               # rising in w
    energy = (k * c2 * shrink).sum(dim=2)                              # falling in w
    return residual, energy


def _grid_curves_cholesky(gram: Tensor, b: Tensor, weights: Tensor) -> Tuple[Tensor, Tensor]:
    """As :func:`_grid_curves_eigh`, by a Cholesky factorisation of every
    ``K + w I`` (batched over ``[G, L]``, float64: the lightest weights are
    about 1e-6 of ``K``'s largest eigenvalue). No eigendecomposition, no host
    synchronisation (``cholesky_ex`` does not check its result; ``K + w I``
    is positive definite for weights above the rounding noise of ``K``, see
    :func:`_exact_gram`)."""
    gram, b = gram.double(), b.double()
    eye = torch.eye(b.shape[1], dtype=gram.dtype, device=gram.device)
    factor, _ = torch.linalg.cholesky_ex(gram.unsqueeze(1) + weights[:, None, None] * eye)
    rhs = b[:, None, :, None].expand(-1, len(weights), -1, -1)          # [G, L, m, 1]
    half = torch.linalg.solve_triangular(factor, rhs, upper=False)
    a = torch.linalg.solve_triangular(factor.mT, half, upper=True).squeeze(-1)  # [G, L, m]
    residual = weights * a.norm(dim=2)                                 # |K a - b| = w |a|
    energy = (a * (a @ gram)).sum(dim=2)
    return residual, energy


def _exact_gram(J: Tensor, inverse_penalty: Tensor) -> Tensor:
    """``J M^-1 J'`` ``[G, m, m]`` in float64, symmetric: positive semidefinite
    to float64 rounding, so that the Cholesky factorisations of
    :func:`_grid_curves_cholesky` hold for weights far below float32's
    rounding of the Gram matrix (about 1e-10 here). No gradient."""
    with torch.no_grad():
        J = J.double()
        gram = J @ inverse_penalty.double() @ J.transpose(1, 2)
        return (gram + gram.transpose(1, 2)) / 2


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
    value leaves the device. The choice carries no gradient.
    """
    m = b.shape[1]
    with torch.no_grad():
        if b.device.type in EIGH_DEVICES:
            weights = rule.grid().to(b)                                # [L]
            residual, energy = _grid_curves_eigh(gram, b, weights)
            motion = rule.motion
        else:
            weights = rule.grid(device=b.device)                       # [L], float64
            residual, energy = _grid_curves_cholesky(gram, b, weights)
            motion = rule.motion.double()
        target = torch.maximum(rule.tolerance * motion * (m / 2) ** 0.5,
                               rule.slack * residual[:, 0])
        fitting = (residual <= target[:, None]).sum(dim=1) - 1         # heaviest that fits
        budget = rule.budget * motion ** 1.5
        small = (energy > budget[:, None]).sum(dim=1)                  # lightest within
        index = torch.maximum(fitting, small).clamp(max=len(weights) - 1)
    return weights.to(b.dtype)[index]


def _step(J: Tensor, r: Tensor, theta: Tensor, inverse_penalty: Tensor,
          rule: WeightRule) -> Tensor:
    """The regularised Gauss-Newton step: the minimiser ``theta + delta`` of
    ``|r + J delta|^2 + w (theta + delta)' M (theta + delta)``, with each
    problem's weight ``w`` chosen by :func:`_choose_weights`.

    Solved in its dual form, an ``m x m`` system for ``m`` residuals (10 for
    a group of 5 keypoints) instead of ``d x d``: with ``b = J theta - r``,
    the new theta is ``M^-1 J' a`` where ``(J M^-1 J' + w I) a = b``.

    J: ``[G, m, d]``, r: ``[G, m]``, theta: ``[G, d]``, inverse_penalty:
    ``M^-1`` ``[d, d]``. Returns the step ``delta`` ``[G, d]``.
    """
    b = (J @ theta.unsqueeze(-1)).squeeze(-1) - r
    spread = J @ inverse_penalty                                       # [G, m, d]
    gram = spread @ J.transpose(1, 2)                                  # [G, m, m]
    if rule.fixed:
        weight = b.new_full(b.shape[:1], rule.lightest)
    elif b.device.type in EIGH_DEVICES:
        weight = _choose_weights(gram, b, rule)
    else:
        weight = _choose_weights(_exact_gram(J, inverse_penalty), b, rule)
    eye = torch.eye(b.shape[1], dtype=b.dtype, device=b.device)
    # solve_ex: linalg.solve's LU without its check of the result (a host
    # synchronisation on GPUs); the systems are positive definite.
    a = torch.linalg.solve_ex(gram + weight[:, None, None] * eye, b)[0]
    return (spread.transpose(1, 2) @ a.unsqueeze(-1)).squeeze(-1) - theta


def _solve_2x2(matrix: Tensor, rhs: Tensor) -> Tensor:
    """``matrix^-1 @ rhs`` for a batch of 2x2 matrices ``[..., 2, 2]`` and
    right-hand sides ``[..., 2, k]``, by the adjugate (cheaper than a batched
    LU for tiny systems; the callers' matrices are near the identity)."""
    a, b = matrix[..., 0, 0, None], matrix[..., 0, 1, None]
    c, d = matrix[..., 1, 0, None], matrix[..., 1, 1, None]
    determinant = a * d - b * c
    top, bottom = rhs[..., 0, :], rhs[..., 1, :]
    return torch.stack([d * top - b * bottom, a * bottom - c * top], dim=-2) / determinant[..., None]


def _robust_scale(residual: Tensor, floor: Tensor) -> Tensor:
    """Per-point factors ``[G, n]`` for the rows of a Gauss-Newton step that
    turn its squared-error objective into the mean Euclidean distance the fit
    is judged by (iteratively reweighted least squares): ``(|r_i|^2 +
    floor^2)^(-1/4)``, normalised to a root mean square of 1 per problem so
    that the penalty weights keep their meaning. ``floor`` ``[G]`` keeps
    points that already fit from dominating. Differentiable.
    """
    scale = (residual.square().sum(dim=2) + floor[:, None].square()) ** -0.25
    return scale / scale.square().mean(dim=1, keepdim=True).sqrt()


def _limit(step: Tensor, max_step: float) -> Tensor:
    """Shorten each row of ``step`` to a norm of at most ``max_step``."""
    norm = step.norm(dim=1, keepdim=True)
    return step * torch.clamp(max_step / (norm + 1e-12), max=1.0)


def fit_fast(control: Tensor, target: Tensor, transform: TransformFn, field: LinearisedField,
             inverse_penalty: Tensor, rule: WeightRule, iterations: int = 3,
             robust: float = 0.05, max_step: float = 4.0) -> Tensor:
    """Fast keypoint-to-CPAB fit (see the module docstring).

    Args:
        control: ``[G, n, 2]`` driving keypoints in domain coordinates.
        target: ``[G, n, 2]`` source keypoints in domain coordinates.
        transform: ``transform(theta [G, d], points [G, n, 2]) -> [G, n, 2]``.
        field: the tessellation's linearised field.
        inverse_penalty: ``[d, d]`` inverse of the matrix ``M`` of the penalty
            ``theta' M theta``.
        rule: how each problem's penalty weight is chosen.
        iterations: Gauss-Newton steps after the linear start.
        robust: reweight the points towards the mean Euclidean error (0:
            plain least squares), see :func:`_robust_scale`.
        max_step: largest norm of one step in theta.
    Returns:
        ``[G, d]`` theta, differentiable in ``control`` and ``target``.
    """
    G, n, _ = control.shape
    theta = control.new_zeros(G, inverse_penalty.shape[0])
    mean_square_motion = (control - target).square().sum(dim=2).mean(dim=1)
    rule = rule.for_motion(mean_square_motion.detach().sqrt())
    # The reweighting's floor is a smooth function of the keypoints (and
    # carries their gradient): about robust * RMS motion, at least 1e-6.
    floor = (robust ** 2 * mean_square_motion + 1e-12).sqrt()

    midpoint = (control + target) / 2
    V = field.velocity_matrix(field.gather(midpoint), midpoint).reshape(G, 2 * n, -1)
    theta = _limit(_step(V, (control - target).reshape(G, 2 * n), theta, inverse_penalty, rule),
                   max_step)
    eye = torch.eye(2, dtype=control.dtype, device=control.device)
    for _ in range(iterations):
        moved = transform(theta, control)
        midpoint = (control + moved) / 2
        rows = field.gather(midpoint)
        V = field.velocity_matrix(rows, midpoint)                      # [G, n, 2, d]
        damped = eye - 0.5 * field.linear_part(rows, theta)           # [G, n, 2, 2]
        J = _solve_2x2(damped, V)                                      # [G, n, 2, d]
        residual = moved - target                                      # [G, n, 2]
        if robust > 0:
            scale = _robust_scale(residual, floor)
            J, residual = J * scale[..., None, None], residual * scale[..., None]
        J, residual = J.reshape(G, 2 * n, -1), residual.reshape(G, 2 * n)
        theta = theta + _limit(_step(J, residual, theta, inverse_penalty, rule), max_step)
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
