"""Gaussian filtering and the anti-aliased image pyramid of the losses."""
from __future__ import annotations

from typing import Dict, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def gaussian_kernel1d(size: int, sigma: float, dtype: torch.dtype = torch.float32,
                      device=None) -> Tensor:
    """A normalised ``size``-tap Gaussian profile centred on the middle tap."""
    coords = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    kernel = torch.exp(-coords ** 2 / (2 * sigma ** 2))
    return kernel / kernel.sum()


def separable_filter(images: Tensor, kernel: Tensor, padding: int = 0) -> Tensor:
    """Filter every channel of ``[B, C, H, W]`` by ``kernel`` along y then x
    (zero padding of ``padding`` pixels on each side)."""
    channels, size = images.shape[1], kernel.numel()
    vertical = kernel.to(images).view(1, 1, size, 1).expand(channels, 1, size, 1)
    horizontal = kernel.to(images).view(1, 1, 1, size).expand(channels, 1, 1, size)
    out = F.conv2d(images, vertical, padding=(padding, 0), groups=channels)
    return F.conv2d(out, horizontal, padding=(0, padding), groups=channels)


def antialias_downsample(images: Tensor, scale: float) -> Tensor:
    """Gaussian blur then nearest down-sampling by ``scale``, as the published
    pyramids (sigma = (1/scale - 1)/2, 2 round(4 sigma) + 1 taps, zero padding)."""
    if scale == 1:
        return images
    if not 0 < scale < 1:
        raise ValueError(f'pyramid scales must be in (0, 1], got {scale}')
    sigma = (1 / scale - 1) / 2
    size = 2 * round(4 * sigma) + 1
    kernel = gaussian_kernel1d(size, sigma, images.dtype, images.device)
    blurred = separable_filter(images, kernel, padding=size // 2)
    return F.interpolate(blurred, scale_factor=(scale, scale), mode='nearest')


class ImagePyramid(nn.Module):
    """Anti-aliased copies of an image at several scales (TPSMM's ``ImagePyramide``).

    The Gaussian kernels are computed, not stored: the module has no state.
    """

    def __init__(self, scales: Sequence[float]):
        super().__init__()
        if not scales:
            raise ValueError('an image pyramid needs at least one scale')
        for scale in scales:
            if not 0 < scale <= 1:
                raise ValueError(f'pyramid scales must be in (0, 1], got {scale}')
        self.scales = tuple(float(scale) for scale in scales)

    def forward(self, images: Tensor) -> Dict[float, Tensor]:
        """``{scale: [B, C, H * scale, W * scale]}`` in the order of ``scales``."""
        return {scale: antialias_downsample(images, scale) for scale in self.scales}

    def extra_repr(self) -> str:
        return f'scales={self.scales}'
