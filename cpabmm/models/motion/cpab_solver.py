"""Keypoints to CPAB parameters: the fast solver and the published Adam loop.

Both find, for each of G independent problems, the theta whose CPAB
transformation maps the control points ``c`` (driving keypoints) onto the
targets ``s`` (source keypoints), in CPAB domain coordinates ([0, 1]^2).

Fast solver (:func:`fit_fast`)
------------------------------
It minimises ``|T_theta(c) - s|^2 + prior_weight * theta' P theta`` where
``P`` is the inverse of the CPAB smoothness prior's covariance, so the
under-determined problem (5 points give 10 equations for 58 unknowns) picks
the smoothest field that fits. The flow of a CPA field over unit time obeys
the implicit midpoint rule to second order,
``T(c) ~ c + v_theta((c + T(c)) / 2)``, and ``v_theta(x) = V(x) theta`` is
linear in theta (``V`` gathers the basis rows of x's triangle), so:

1. start: the regularised linear least-squares solution of
   ``V(m) theta = s - c`` with ``m = (c + s) / 2``;
2. ``iterations`` Gauss-Newton steps on the exact transformation:
   residual ``r = T_theta(c) - s`` from the CPAB op, Jacobian from the
   midpoint rule, ``J = (I - Dv(m) / 2)^-1 V(m)`` with ``m = (c + T(c)) / 2``
   and ``Dv`` the field's 2x2 linear part at m; step
   ``(J'J + w P) d = -(J'r + w P theta)``, shortened to at most ``max_step``.

Every operation is differentiable, so gradients reach the keypoints through
the unrolled steps (first derivatives of the op only). Batched over all
problems: a handful of small solves instead of hundreds of optimiser steps.

Adam loop (:func:`fit_adam`)
----------------------------
The published inference: theta from 1e-6 in every entry, Adam (lr 0.01) on
``norm(2 T(c) - 1 - (2 s - 1))`` over all problems at once, detached inputs.
It runs under ``torch.no_grad()`` too (it enables gradients locally).
"""
from __future__ import annotations

from typing import Callable, Tuple

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
        self.rows = basis.reshape(-1, 2, 3, basis.shape[1])  # [nT, 2, 3, d]

    def gather(self, points: Tensor) -> Tensor:
        """Basis rows of each point's triangle: ``[..., 2, 3, d]``."""
        with torch.no_grad():
            index = triangle_index(points, self.nc)
        return self.rows[index]

    @staticmethod
    def velocity_matrix(rows: Tensor, points: Tensor) -> Tensor:
        """``V(x)``: ``[..., 2, d]`` with ``v_theta(x) = V(x) @ theta``."""
        homogeneous = torch.cat([points, torch.ones_like(points[..., :1])], dim=-1)
        return torch.einsum('...ijd,...j->...id', rows, homogeneous)

    @staticmethod
    def linear_part(rows: Tensor, theta: Tensor) -> Tensor:
        """The field's 2x2 linear part ``Dv`` at each point: ``[G, n, 2, 2]``
        for rows ``[G, n, 2, 3, d]`` and theta ``[G, d]``."""
        return torch.einsum('gnijd,gd->gnij', rows[..., :2, :], theta)


def _solve_regularised(J: Tensor, r: Tensor, theta: Tensor, precision: Tensor,
                       weight: float) -> Tensor:
    """The Gauss-Newton step ``-(J'J + wP)^-1 (J'r + wP theta)``.

    J: ``[G, m, d]``, r: ``[G, m]``, theta: ``[G, d]``, precision ``[d, d]``.
    """
    Jt = J.transpose(1, 2)
    H = Jt @ J + weight * precision
    g = (Jt @ r.unsqueeze(-1)).squeeze(-1) + weight * theta @ precision
    return -torch.linalg.solve(H, g)


def _solve_2x2(matrix: Tensor, rhs: Tensor) -> Tensor:
    """``matrix^-1 @ rhs`` for a batch of 2x2 matrices ``[..., 2, 2]`` and
    right-hand sides ``[..., 2, k]``, by the adjugate (cheaper than a batched
    LU for tiny systems; the callers' matrices are near the identity)."""
    a, b = matrix[..., 0, 0, None], matrix[..., 0, 1, None]
    c, d = matrix[..., 1, 0, None], matrix[..., 1, 1, None]
    determinant = a * d - b * c
    top, bottom = rhs[..., 0, :], rhs[..., 1, :]
    return torch.stack([d * top - b * bottom, a * bottom - c * top], dim=-2) / determinant[..., None]


def _limit(step: Tensor, max_step: float) -> Tensor:
    """Shorten each row of ``step`` to a norm of at most ``max_step``."""
    norm = step.norm(dim=1, keepdim=True)
    return step * torch.clamp(max_step / (norm + 1e-12), max=1.0)


def fit_fast(control: Tensor, target: Tensor, transform: TransformFn, field: LinearisedField,
             precision: Tensor, prior_weight: float, iterations: int = 3,
             max_step: float = 2.0) -> Tensor:
    """Fast keypoint-to-CPAB fit (see the module docstring).

    Args:
        control: ``[G, n, 2]`` driving keypoints in domain coordinates.
        target: ``[G, n, 2]`` source keypoints in domain coordinates.
        transform: ``transform(theta [G, d], points [G, n, 2]) -> [G, n, 2]``.
        field: the tessellation's linearised field.
        precision: ``[d, d]`` inverse prior covariance.
        prior_weight: weight of the prior energy.
        iterations: Gauss-Newton steps after the linear start.
        max_step: largest norm of one step in theta.
    Returns:
        ``[G, d]`` theta, differentiable in ``control`` and ``target``.
    """
    G, n, _ = control.shape
    d = precision.shape[0]
    theta = control.new_zeros(G, d)

    midpoint = (control + target) / 2
    V = field.velocity_matrix(field.gather(midpoint), midpoint).reshape(G, 2 * n, d)
    theta = _limit(_solve_regularised(V, (control - target).reshape(G, 2 * n), theta,
                                      precision, prior_weight), max_step)
    eye = torch.eye(2, dtype=control.dtype, device=control.device)
    for _ in range(iterations):
        moved = transform(theta, control)
        midpoint = (control + moved) / 2
        rows = field.gather(midpoint)
        V = field.velocity_matrix(rows, midpoint)                      # [G, n, 2, d]
        damped = eye - 0.5 * field.linear_part(rows, theta)           # [G, n, 2, 2]
        J = _solve_2x2(damped, V).reshape(G, 2 * n, d)
        residual = (moved - target).reshape(G, 2 * n)
        theta = theta + _limit(
            _solve_regularised(J, residual, theta, precision, prior_weight), max_step)
    return theta


def fit_adam(control: Tensor, target: Tensor, transform: TransformFn, dim: int,
             iterations: int, lr: float = 0.01) -> Tensor:
    """The published per-forward Adam loop (detached inputs, theta detached).

    The loss is the norm, over all problems together, of the difference in
    [-1, 1] units: ``norm(2 T(c) - 1 - (2 s - 1))``.
    """
    control, target = control.detach(), target.detach()
    with torch.enable_grad():
        theta = torch.full((control.shape[0], dim), 1e-6, dtype=control.dtype,
                           device=control.device, requires_grad=True)
        optimizer = torch.optim.Adam([theta], lr=lr)
        for _ in range(iterations):
            optimizer.zero_grad()
            loss = torch.norm(2 * (transform(theta, control) - target))
            loss.backward()
            optimizer.step()
    return theta.detach()
