"""What the two generators share: an encoder, feature warping and masking."""
from __future__ import annotations

from typing import List, Optional, Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from ..layers import DownBlock2d, SameBlock2d, warp_image


class WarpingGenerator(nn.Module):
    """Base of the generators: encode the source, warp its features by the
    dense flow, mask them by occlusion, decode.

    Builds the 7x7 stem, ``num_down_blocks`` down blocks (features
    ``min(max_features, block_expansion 2^i)``) and the 7x7 output head.

    Args:
        in_channels: image channels.
        block_expansion, max_features, num_down_blocks: encoder size.
        norm: 'batch' or 'instance'.
        resize_align_corners: ``align_corners`` of the bilinear resizing of
            flows and masks to feature resolutions (TPSMM: True, FOMM:
            False, as each was trained).
    """

    def __init__(self, in_channels: int, block_expansion: int, max_features: int,
                 num_down_blocks: int, norm: str, resize_align_corners: bool):
        super().__init__()
        self.in_channels = in_channels
        self.block_expansion = block_expansion
        self.max_features = max_features
        self.num_down_blocks = num_down_blocks
        self.resize_align_corners = resize_align_corners
        self.stem = SameBlock2d(in_channels, block_expansion, norm, kernel_size=7, padding=3)
        self.down_blocks = nn.ModuleList(
            DownBlock2d(self.width(i), self.width(i + 1), norm) for i in range(num_down_blocks))
        self.head = nn.Conv2d(block_expansion, in_channels, kernel_size=7, padding=3)

    @property
    def size_multiple(self) -> int:
        """Image sides must be multiples of this."""
        return 2 ** self.num_down_blocks

    def check_num_masks(self, num_masks: int) -> None:
        """Raise a ValueError unless the generator can use ``num_masks``
        occlusion masks."""
        if num_masks not in self.supported_num_masks():
            raise ValueError(f'{type(self).__name__} takes {self.supported_num_masks()} '
                             f'occlusion masks, the dense motion network gives {num_masks}')

    def supported_num_masks(self) -> tuple:
        """The numbers of occlusion masks this generator can use."""
        raise NotImplementedError

    def width(self, level: int) -> int:
        """Channels of the encoder's ``level``-th feature map (0: the stem)."""
        return min(self.max_features, self.block_expansion * 2 ** level)

    def encode(self, image: Tensor) -> List[Tensor]:
        """Feature maps of every encoder level, finest (stem) first."""
        features = [self.stem(image)]
        for block in self.down_blocks:
            features.append(block(features[-1]))
        return features

    def warp(self, features: Tensor, flow: Tensor) -> Tensor:
        """Backward-warp ``features`` by the flow (resized to their size)."""
        return warp_image(features, flow, self.resize_align_corners)

    def mask(self, features: Tensor, occlusion: Optional[Tensor]) -> Tensor:
        """Multiply by an occlusion mask, resized to the features if needed."""
        if occlusion is None:
            return features
        return features * self.resize_mask(occlusion, features.shape[2:])

    def resize_mask(self, occlusion: Tensor, size: Sequence[int]) -> Tensor:
        if tuple(occlusion.shape[2:]) == tuple(size):
            return occlusion
        return F.interpolate(occlusion, size=tuple(size), mode='bilinear',
                             align_corners=self.resize_align_corners)
