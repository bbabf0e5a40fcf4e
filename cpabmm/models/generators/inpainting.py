"""TPSMM's (and CPABMM's) inpainting network."""
from __future__ import annotations

from typing import Dict, List, Sequence

import torch
from torch import Tensor, nn

from cpabmm.registry import MODELS
from ..layers import ResBlock2d, UpBlock2d
from .base import WarpingGenerator


@MODELS.register_module()
class InpaintingGenerator(WarpingGenerator):
    """U-Net that warps and masks every encoder level (TPSMM).

    The deepest warped features pass two residual blocks and an up block per
    level, concatenated with the next warped, masked encoder level; the
    output is blended with the warped source by the finest mask:
    ``prediction = (1 - m) * sigmoid(head(...)) + m * warp(source)``.

    Occlusion masks: ``num_down_blocks + 1`` of them, coarsest first, each at
    its level's resolution (the dense motion network's multi-resolution
    masks), or a single mask resized to every level.

    Args:
        in_channels: image channels.
        block_expansion, max_features, num_down_blocks: encoder/decoder size.
        norm: 'instance' (published) or 'batch'.
    """

    def __init__(self, in_channels: int = 3, block_expansion: int = 64,
                 max_features: int = 512, num_down_blocks: int = 3, norm: str = 'instance'):
        super().__init__(in_channels, block_expansion, max_features, num_down_blocks, norm,
                         resize_align_corners=True)
        n = num_down_blocks
        block_in = [self.width(n)] + [2 * self.width(n - i) for i in range(1, n)]
        self.up_blocks = nn.ModuleList(
            UpBlock2d(block_in[i], self.width(n - i - 1), norm) for i in range(n))
        self.res_blocks = nn.ModuleList(
            ResBlock2d(block_in[i // 2], norm) for i in range(2 * n))

    def supported_num_masks(self) -> tuple:
        return (1, self.num_down_blocks + 1)

    def _masks(self, occlusion: Sequence[Tensor]) -> List[Tensor]:
        """One mask per encoder level, coarsest first."""
        self.check_num_masks(len(occlusion))
        if len(occlusion) == 1:
            return list(occlusion) * (self.num_down_blocks + 1)
        return list(occlusion)

    def forward(self, source: Tensor, flow: Tensor, occlusion: Sequence[Tensor],
                return_warped_features: bool = False) -> Dict[str, object]:
        """Animate ``source`` by the backward ``flow`` [B, h, w, 2].

        Returns:
            dict with ``prediction``, ``deformed`` (source warped at full
            resolution) and, if ``return_warped_features``, the
            ``warped_encoder_maps`` of the warp loss: each level's warped,
            masked source features computed from detached features and
            detached masks (gradient reaches the flow only), coarsest first.
        """
        masks = self._masks(occlusion)
        features = self.encode(source)
        warped_maps: List[Tensor] = []

        def warp_level(level: int) -> Tensor:
            """Encoder level ``level`` (counted from the deepest) warped and
            masked by its mask."""
            mask = masks[level]
            feature = features[-(level + 1)]
            if return_warped_features:
                warped_maps.append(self.mask(self.warp(feature.detach(), flow), mask.detach()))
            return self.mask(self.warp(feature, flow), mask)

        out = warp_level(0)
        for i, up_block in enumerate(self.up_blocks):
            out = self.res_blocks[2 * i + 1](self.res_blocks[2 * i](out))
            out = up_block(out)
            skip = warp_level(i + 1)
            if i < self.num_down_blocks - 1:
                out = torch.cat([out, skip], dim=1)

        deformed = self.warp(source, flow)
        last = self.resize_mask(masks[-1], out.shape[2:])
        out = torch.sigmoid(self.head(out * (1 - last) + skip))
        result = {'prediction': out * (1 - last) + deformed * last, 'deformed': deformed}
        if return_warped_features:
            result['warped_encoder_maps'] = warped_maps
        return result

    @torch.no_grad()
    def encode_driving(self, driving: Tensor, occlusion: Sequence[Tensor]) -> List[Tensor]:
        """The driving frame's encoder features masked by the occlusion masks,
        finest first, without gradient (as published): the targets of the
        warp loss, which compares level i with ``warped_encoder_maps[-i - 1]``.
        """
        masks = self._masks(occlusion)
        features = self.encode(driving)
        return [self.mask(f, m) for f, m in zip(features, reversed(masks))]
