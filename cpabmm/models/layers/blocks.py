"""Convolutional building blocks shared by the FOMM and TPSMM networks.

Every block takes ``norm='batch'`` (FOMM) or ``norm='instance'`` (TPSMM,
CPABMM): the published networks differ in that choice only. Down-sampling
is average pooling and up-sampling nearest-neighbour interpolation, as in
the published code.
"""
from __future__ import annotations

import math
from typing import List, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

IntPair = Union[int, Sequence[int]]
NORMS = ('batch', 'instance')


def build_norm(norm: str, channels: int) -> nn.Module:
    """An affine BatchNorm2d or InstanceNorm2d (without running statistics)."""
    if norm == 'batch':
        return nn.BatchNorm2d(channels, affine=True)
    if norm == 'instance':
        return nn.InstanceNorm2d(channels, affine=True)
    raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")


class SameBlock2d(nn.Module):
    """Conv -> norm -> ReLU at constant resolution."""

    def __init__(self, in_channels: int, out_channels: int, norm: str,
                 kernel_size: IntPair = 3, padding: IntPair = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding)
        self.norm = build_norm(norm, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.norm(self.conv(x)))


class DownBlock2d(SameBlock2d):
    """Conv -> norm -> ReLU -> 2x2 average pooling."""

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(super().forward(x), kernel_size=2)


class UpBlock2d(SameBlock2d):
    """Nearest 2x up-sampling -> conv -> norm -> ReLU."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(F.interpolate(x, scale_factor=2))


class ResBlock2d(nn.Module):
    """Pre-activation residual block: x + conv(relu(norm(conv(relu(norm(x))))))."""

    def __init__(self, channels: int, norm: str, kernel_size: IntPair = 3,
                 padding: IntPair = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel_size, padding=padding)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size, padding=padding)
        self.norm1 = build_norm(norm, channels)
        self.norm2 = build_norm(norm, channels)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv1(F.relu(self.norm1(x)))
        out = self.conv2(F.relu(self.norm2(out)))
        return out + x


class Hourglass(nn.Module):
    """U-Net of ``num_blocks`` down and up blocks with concatenated skips.

    ``forward`` returns the output of every decoder level, coarsest first;
    the last one (full input resolution) has ``out_channels[-1] =
    block_expansion + in_channels`` channels.
    """

    def __init__(self, in_channels: int, block_expansion: int, num_blocks: int,
                 max_features: int, norm: str):
        super().__init__()

        def width(level: int) -> int:
            return min(max_features, block_expansion * 2 ** level)

        self.down_blocks = nn.ModuleList(
            DownBlock2d(in_channels if i == 0 else width(i), width(i + 1), norm)
            for i in range(num_blocks))
        up_blocks = []
        self.out_channels: List[int] = []
        for i in reversed(range(num_blocks)):
            block_in = width(i + 1) * (1 if i == num_blocks - 1 else 2)
            up_blocks.append(UpBlock2d(block_in, width(i), norm))
            skip = in_channels if i == 0 else width(i)
            self.out_channels.append(width(i) + skip)
        self.up_blocks = nn.ModuleList(up_blocks)
        self.num_blocks = num_blocks

    def forward(self, x: Tensor) -> List[Tensor]:
        skips = [x]
        for block in self.down_blocks:
            skips.append(block(skips[-1]))
        out = skips.pop()
        outs = []
        for block in self.up_blocks:
            out = torch.cat([block(out), skips.pop()], dim=1)
            outs.append(out)
        return outs


class AntiAliasDownsample(nn.Module):
    """Gaussian blur followed by nearest down-sampling by ``scale``.

    The kernel is a persistent buffer (``weight``), as in the published
    checkpoints, and is loaded from them; the value computed here (sigma =
    (1/scale - 1)/2, size 2 round(4 sigma) + 1) initialises new models.
    """

    def __init__(self, channels: int, scale: float):
        super().__init__()
        if not 0 < scale <= 1:
            raise ValueError(f'scale must be in (0, 1], got {scale}')
        self.scale = scale
        self.groups = channels
        sigma = (1 / scale - 1) / 2
        size = 2 * round(sigma * 4) + 1
        self.pad_before = size // 2
        self.pad_after = self.pad_before - 1 if size % 2 == 0 else self.pad_before
        self.register_buffer('weight', self._gaussian_kernel(channels, size, sigma))

    @staticmethod
    def _gaussian_kernel(channels: int, size: int, sigma: float) -> Tensor:
        if sigma == 0:
            kernel = torch.ones(1, 1)
        else:
            coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
            profile = torch.exp(-coords ** 2 / (2 * sigma ** 2))
            kernel = profile[:, None] * profile[None, :]
            kernel = kernel / kernel.sum()
        return kernel.expand(channels, 1, size, size).clone()

    def forward(self, x: Tensor) -> Tensor:
        if self.scale == 1:
            return x
        pad = (self.pad_before, self.pad_after) * 2
        out = F.conv2d(F.pad(x, pad), self.weight, groups=self.groups)
        return F.interpolate(out, scale_factor=(self.scale, self.scale))


def num_halvings(scale: float) -> int:
    """log2(1 / scale) for a power-of-two down-sampling factor."""
    halvings = math.log2(1 / scale)
    if abs(halvings - round(halvings)) > 1e-9:
        raise ValueError(f'scale_factor must be 1/2^n, got {scale}')
    return int(round(halvings))
