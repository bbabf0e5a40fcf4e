"""Figures of merit of CPABMotion fits, and the keypoint sets they are
measured on (used by ``tools/benchmark.py motion`` and the tests).

A fit is judged by its keypoint error (mean Euclidean distance, [-1, 1]
units, between the warped driving keypoints and the source keypoints) *and*
by how large and how smooth the fitted transformations are: 5 points give 10
equations for 58 unknowns, so a low error alone can hide a wild field.
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

from .base import MotionParams

#: keypoint distributions of :func:`keypoint_pairs`
DISTRIBUTIONS = ('fixture-noisy', 'small', 'large', 'degenerate')
#: mean motion |kp_source - kp_driving| ([-1, 1] units) of the synthetic sets
_MOTION = {'small': 0.02, 'large': 0.3, 'degenerate': 0.1}


def noisy_tiles(kp_source: Tensor, kp_driving: Tensor, samples: int,
                noise: float = 0.01, seed: int = 0) -> Tuple[Tensor, Tensor]:
    """The given pairs, then copies with Gaussian noise (std ``noise``),
    to ``samples`` pairs."""
    reps = -(-samples // kp_source.shape[0])
    generator = torch.Generator().manual_seed(seed)

    def tiles(x: Tensor) -> Tensor:
        copies = [x + noise * torch.randn(x.shape, generator=generator) for _ in range(reps - 1)]
        return torch.cat([x] + copies)[:samples]

    return tiles(kp_source), tiles(kp_driving)


def _smooth_motion(points: Tensor, scale: float, generator: torch.Generator) -> Tensor:
    """``points`` moved by a random smooth field (affine plus three plane
    waves) whose mean displacement is ``scale``."""
    B = points.shape[0]
    linear = 0.5 * torch.randn(B, 2, 2, generator=generator)
    shift = torch.randn(B, 1, 2, generator=generator)
    frequency = 2.0 * torch.randn(B, 3, 2, generator=generator)
    phase = 2 * math.pi * torch.rand(B, 3, generator=generator)
    amplitude = 0.5 * torch.randn(B, 3, 2, generator=generator)
    waves = torch.sin(torch.einsum('bpi,bki->bpk', points, frequency) + phase[:, None])
    motion = (points @ linear.transpose(1, 2) + shift
              + torch.einsum('bpk,bki->bpi', waves, amplitude))
    motion = motion / motion.norm(dim=-1).mean(dim=1)[:, None, None]
    return points + scale * motion


def _degenerate_groups(driving: Tensor, groups: int, generator: torch.Generator) -> Tensor:
    """Every third group collapsed to nearly one point (spread 1e-3), every
    third made nearly collinear (a 0.4 long segment), the rest kept."""
    B, n = driving.shape[0], driving.shape[1] // groups
    grouped = driving.view(B, groups, n, 2).clone()
    anchor = grouped[:, :, :1]
    jitter = 1e-3 * torch.randn(B, groups, n, 2, generator=generator)
    direction = torch.nn.functional.normalize(
        torch.randn(B, groups, 1, 2, generator=generator), dim=-1)
    along = torch.linspace(-0.2, 0.2, n)[:, None]
    kind = torch.arange(groups) % 3
    grouped[:, kind == 0] = (anchor + jitter)[:, kind == 0]
    grouped[:, kind == 1] = (anchor + along * direction + jitter)[:, kind == 1]
    return grouped.view(B, groups * n, 2)


def keypoint_pairs(distribution: str, samples: int = 8, groups: int = 10,
                   points_per_group: int = 5, seed: int = 0,
                   fixture: Optional[Dict[str, Tensor]] = None) -> Tuple[Tensor, Tensor]:
    """``(kp_source, kp_driving)`` ``[samples, groups * points_per_group, 2]``.

    ``'fixture-noisy'``: the fixture's pairs (``fixture`` with ``kp_source``
    and ``kp_driving``) tiled with noise by :func:`noisy_tiles`. The others:
    driving keypoints uniform in [-0.8, 0.8]^2, sources moved by a random
    smooth field plus noise of 10% of the motion: ``'small'`` (mean motion
    0.02), ``'large'`` (0.3), ``'degenerate'`` (0.1, with nearly coincident
    and nearly collinear driving groups).
    """
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f'distribution must be one of {DISTRIBUTIONS}, got {distribution!r}')
    if distribution == 'fixture-noisy':
        if fixture is None:
            raise ValueError("the 'fixture-noisy' distribution needs the fixture's keypoints "
                             "(fixture={'kp_source': ..., 'kp_driving': ...})")
        return noisy_tiles(fixture['kp_source'], fixture['kp_driving'], samples, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    driving = 1.6 * torch.rand(samples, groups * points_per_group, 2, generator=generator) - 0.8
    if distribution == 'degenerate':
        driving = _degenerate_groups(driving, groups, generator)
    scale = _MOTION[distribution]
    source = (_smooth_motion(driving, scale, generator)
              + 0.1 * scale * torch.randn(driving.shape, generator=generator))
    return source, driving


def fit_errors(motion, params: MotionParams, kp_source: Tensor,
               kp_driving: Tensor) -> Dict[str, float]:
    """Mean keypoint error ([-1, 1] units) of the partial transformations (each
    on its own group) and of the global one (on all keypoints)."""
    B, K, n = kp_source.shape[0], motion.num_groups, motion.points_per_group
    warped = motion.warp_points(params, kp_driving)                   # [B, N, K n, 2]
    groups = warped[:, :K].reshape(B, K, K, n, 2)
    own = torch.stack([groups[:, k, k] for k in range(K)], dim=1)
    errors = {'partial': (own - kp_source.view(B, K, n, 2)).norm(dim=-1).mean().item()}
    if motion.global_ is not None:
        errors['global'] = (warped[:, K] - kp_source).norm(dim=-1).mean().item()
    return errors


def theta_sizes(motion, params: MotionParams) -> Dict[str, Dict[str, float]]:
    """Per family (``'partial'``, ``'global'``): mean and largest Euclidean
    norm of theta over the transformations, largest absolute entry, and mean
    prior energy ``theta' Sigma^-1 theta`` (``Sigma``: the smoothness prior's
    covariance)."""
    sizes = {}
    for name, tess in (('partial', motion.partial), ('global', motion.global_)):
        if tess is None:
            continue
        theta = params[f'theta_{name}'].detach().flatten(0, -2).to(tess.precision)
        norm = theta.norm(dim=1)
        energy = torch.einsum('gd,de,ge->g', theta, tess.precision, theta)
        sizes[name] = dict(mean_norm=norm.mean().item(), max_norm=norm.max().item(),
                           max_entry=theta.abs().max().item(), energy=energy.mean().item())
    return sizes


def published_thetas(fixture: dict, family: str, tess) -> Tensor:
    """The published loop's thetas of ``family`` (``'partial'``, ``'global'``)
    recorded in ``fixture`` (``cpab_libcpab_seed0.pt``), mapped into the basis
    of ``tess`` through the A-vectors (the bases span the same space up to a
    rotation); float64, on the device of ``tess``."""
    lib_basis = fixture[{'partial': 'tess4', 'global': 'tess6'}[family]]['basis'].double()
    theta = fixture['keypoint_fit'][family]['theta'].double() @ lib_basis.T
    basis = tess.cpab.basis.double()
    return theta.to(basis.device) @ basis


def warp_determinants(motion, params: MotionParams,
                      size: int = 33) -> Dict[str, Tuple[float, float]]:
    """Per family, the least and largest Jacobian determinant of the warps on
    a ``size x size`` grid over [-1, 1]^2 (central differences of the warped
    grid); positive everywhere for a diffeomorphism."""
    theta = params['theta_partial']
    axis = torch.linspace(-1, 1, size, dtype=theta.dtype, device=theta.device)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing='xy'), dim=-1)
    with torch.no_grad():
        warped = motion.warp(params, grid)                              # [B, N, h, w, 2]
    dx = warped[..., 1:-1, 2:, :] - warped[..., 1:-1, :-2, :]
    dy = warped[..., 2:, 1:-1, :] - warped[..., :-2, 1:-1, :]
    step = 2 * 2 / (size - 1)
    determinant = (dx[..., 0] * dy[..., 1] - dx[..., 1] * dy[..., 0]) / step ** 2
    K = motion.num_groups
    ranges = {'partial': determinant[:, :K]}
    if motion.global_ is not None:
        ranges['global'] = determinant[:, K:]
    return {name: (d.min().item(), d.max().item()) for name, d in ranges.items()}
