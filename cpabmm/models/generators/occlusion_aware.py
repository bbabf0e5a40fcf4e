"""FOMM's occlusion-aware generator."""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import torch
from torch import Tensor, nn

from cpabmm.registry import MODELS
from ..layers import ResBlock2d, UpBlock2d
from .base import WarpingGenerator


@MODELS.register_module()
class OcclusionAwareGenerator(WarpingGenerator):
    """Encoder -> warp + occlusion at the bottleneck -> residual blocks ->
    decoder (Johnson-style, FOMM).

    Args:
        in_channels: image channels.
        block_expansion, max_features, num_down_blocks: encoder/decoder size.
        num_bottleneck_blocks: residual blocks after the warp.
        norm: 'batch' (published) or 'instance'.
    """

    def __init__(self, in_channels: int = 3, block_expansion: int = 64,
                 max_features: int = 512, num_down_blocks: int = 2,
                 num_bottleneck_blocks: int = 6, norm: str = 'batch'):
        super().__init__(in_channels, block_expansion, max_features, num_down_blocks, norm,
                         resize_align_corners=False)
        self.bottleneck = nn.Sequential(*(
            ResBlock2d(self.width(num_down_blocks), norm) for _ in range(num_bottleneck_blocks)))
        self.up_blocks = nn.ModuleList(
            UpBlock2d(self.width(level), self.width(level - 1), norm)
            for level in range(num_down_blocks, 0, -1))

    def supported_num_masks(self) -> tuple:
        return (0, 1)

    def forward(self, source: Tensor, flow: Tensor,
                occlusion: Optional[Sequence[Tensor]] = None,
                return_warped_features: bool = False) -> Dict[str, object]:
        """Animate ``source`` by the backward ``flow`` [B, h, w, 2].

        Args:
            occlusion: at most one mask [B, 1, h, w] (FOMM has a single one).
            return_warped_features: ignored (FOMM has no warp loss); kept so
                the generators are interchangeable.
        Returns:
            dict with ``prediction`` [B, C, H, W] and ``deformed`` (the
            source warped by the flow at full resolution).
        """
        self.check_num_masks(len(occlusion or ()))
        out = self.encode(source)[-1]
        out = self.mask(self.warp(out, flow), occlusion[0] if occlusion else None)
        out = self.bottleneck(out)
        for block in self.up_blocks:
            out = block(out)
        return {'prediction': torch.sigmoid(self.head(out)), 'deformed': self.warp(source, flow)}
