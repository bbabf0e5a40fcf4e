"""Coordinate grids, keypoint heatmaps and warping in the [-1, 1] convention.

Coordinates are x first and match ``grid_sample(..., align_corners=True)``:
-1 and 1 are the centres of the first and last pixels.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def coordinate_grid(size: Sequence[int], dtype: torch.dtype = torch.float32,
                    device: Optional[torch.device] = None) -> Tensor:
    """Pixel centres of an ``(h, w)`` image as an ``[h, w, 2]`` grid in [-1, 1].

    Written as ``2 * (i / (n - 1)) - 1`` (not ``linspace``), the rounding of
    the published implementations, which their checkpoints were trained with.
    """
    h, w = int(size[0]), int(size[1])
    x = torch.arange(w, dtype=dtype, device=device)
    y = torch.arange(h, dtype=dtype, device=device)
    x = 2 * (x / (w - 1)) - 1
    y = 2 * (y / (h - 1)) - 1
    return torch.stack([x.view(1, w).expand(h, w), y.view(h, 1).expand(h, w)], dim=-1)


def keypoint_heatmaps(keypoints: Tensor, size: Sequence[int], variance: float) -> Tensor:
    """Unnormalised Gaussians ``exp(-|z - kp|^2 / (2 variance))``.

    Args:
        keypoints: ``[..., K, 2]`` in [-1, 1].
        size: ``(h, w)`` of the maps.
    Returns:
        ``[..., K, h, w]``.
    """
    grid = coordinate_grid(size, keypoints.dtype, keypoints.device)
    diff = grid - keypoints[..., None, None, :]
    return torch.exp(-0.5 * (diff ** 2).sum(-1) / variance)


def resize_flow(flow: Tensor, size: Sequence[int], align_corners: Optional[bool]) -> Tensor:
    """Bilinearly resample a ``[B, h, w, 2]`` sampling field to ``size``.

    The values are [-1, 1] coordinates, so they are resampled, not rescaled.
    """
    if tuple(flow.shape[1:3]) == tuple(size):
        return flow
    flow = flow.permute(0, 3, 1, 2)
    flow = F.interpolate(flow, size=tuple(size), mode='bilinear', align_corners=align_corners)
    return flow.permute(0, 2, 3, 1)


def warp_image(image: Tensor, flow: Tensor,
               flow_align_corners: Optional[bool] = True) -> Tensor:
    """Backward warp: ``out(z) = image(flow(z))`` with ``grid_sample``.

    A flow of another resolution is first resized to the image's; the
    resize's ``align_corners`` is ``flow_align_corners`` (TPSMM resizes with
    ``True``, FOMM with ``False``), the sampling always uses ``True``.
    """
    flow = resize_flow(flow, image.shape[2:], flow_align_corners)
    return F.grid_sample(image, flow, align_corners=True)


def apply_projective(matrix: Tensor, points: Tensor) -> Tensor:
    """Map ``points [B, ..., 2]`` by ``matrix [B, 3, 3]`` with the projective
    division (x' = (M [x; 1])_{0:2} / (M [x; 1])_2)."""
    ones = torch.ones_like(points[..., :1])
    homogeneous = torch.cat([points, ones], dim=-1)
    view = (matrix.shape[0],) + (1,) * (points.dim() - 2) + (3, 3)
    mapped = torch.matmul(matrix.view(view), homogeneous.unsqueeze(-1)).squeeze(-1)
    return mapped[..., :2] / mapped[..., 2:3]
