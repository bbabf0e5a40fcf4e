"""FOMM's keypoint detector: heatmaps, expected coordinates and Jacobians."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cpabmm.registry import MODELS
from ..layers import AntiAliasDownsample, Hourglass, coordinate_grid, num_halvings
from ..motion.base import Keypoints


@MODELS.register_module()
class HeatmapKeypointDetector(nn.Module):
    """Keypoints as the expectations of softmax heatmaps.

    An hourglass on the (blurred, down-sampled) image feeds a 7x7 head giving
    one heatmap per keypoint (padding 0, as published: 58x58 maps at 64x64);
    a softmax with ``temperature`` over each map gives a distribution whose
    mean is the keypoint. The optional Jacobian head gives 4 maps per
    keypoint (or 4 shared ones), averaged under the same distribution and
    initialised to the identity.

    Args:
        num_keypoints: K.
        in_channels: image channels.
        block_expansion, max_features, num_blocks: hourglass size.
        temperature: softmax temperature.
        scale_factor: input down-sampling before the hourglass.
        estimate_jacobian: predict ``'jacobian'`` [B, K, 2, 2].
        single_jacobian_map: one Jacobian map shared by all keypoints (MGif).
        padding: padding of the 7x7 heads.
        norm: 'batch' (published) or 'instance'.
    """

    def __init__(self, num_keypoints: int = 10, in_channels: int = 3,
                 block_expansion: int = 32, max_features: int = 1024, num_blocks: int = 5,
                 temperature: float = 0.1, scale_factor: float = 0.25,
                 estimate_jacobian: bool = True, single_jacobian_map: bool = False,
                 padding: int = 0, norm: str = 'batch'):
        super().__init__()
        self.num_keypoints = num_keypoints
        self.temperature = temperature
        self.downsample = AntiAliasDownsample(in_channels, scale_factor)
        self.hourglass = Hourglass(in_channels, block_expansion, num_blocks, max_features, norm)
        features = self.hourglass.out_channels[-1]
        self.heatmap_head = nn.Conv2d(features, num_keypoints, kernel_size=7, padding=padding)
        self.jacobian_head = None
        if estimate_jacobian:
            self.num_jacobian_maps = 1 if single_jacobian_map else num_keypoints
            self.jacobian_head = nn.Conv2d(features, 4 * self.num_jacobian_maps,
                                           kernel_size=7, padding=padding)
            nn.init.zeros_(self.jacobian_head.weight)
            with torch.no_grad():
                self.jacobian_head.bias.copy_(
                    torch.tensor([1., 0., 0., 1.]).repeat(self.num_jacobian_maps))

    @property
    def size_multiple(self) -> int:
        """Image sides must be multiples of this."""
        return 2 ** (num_halvings(self.downsample.scale) + self.hourglass.num_blocks)

    def forward(self, image: Tensor) -> Keypoints:
        features = self.hourglass(self.downsample(image))[-1]
        logits = self.heatmap_head(features)
        batch, k, h, w = logits.shape
        heatmap = F.softmax(logits.view(batch, k, -1) / self.temperature, dim=2)
        heatmap = heatmap.view(batch, k, h, w)
        grid = coordinate_grid((h, w), heatmap.dtype, heatmap.device)
        out = {'value': (heatmap.unsqueeze(-1) * grid).sum(dim=(2, 3))}
        if self.jacobian_head is not None:
            maps = self.jacobian_head(features).reshape(batch, self.num_jacobian_maps, 4, h, w)
            jacobian = (heatmap.unsqueeze(2) * maps).view(batch, k, 4, -1).sum(dim=-1)
            out['jacobian'] = jacobian.view(batch, k, 2, 2)
        return out
