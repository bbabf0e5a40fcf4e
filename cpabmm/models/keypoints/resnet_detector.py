"""TPSMM's (and CPABMM's) keypoint detector: a ResNet-18 regressor."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from cpabmm.registry import MODELS
from ..layers import resnet18
from ..motion.base import Keypoints


@MODELS.register_module()
class ResNetKeypointDetector(nn.Module):
    """Regress ``num_keypoints`` points from the whole image.

    A ResNet-18 (no pretrained weights) whose classifier outputs
    ``2 * num_keypoints`` numbers, squashed into [-1, 1] by ``2 sigmoid - 1``.

    Args:
        num_keypoints: points per image (TPSMM: 10 groups of 5 = 50).
        in_channels: image channels.
    """

    def __init__(self, num_keypoints: int = 50, in_channels: int = 3):
        super().__init__()
        self.num_keypoints = num_keypoints
        self.backbone = resnet18(in_channels, 2 * num_keypoints)

    def forward(self, image: Tensor) -> Keypoints:
        raw = self.backbone(image)
        value = torch.sigmoid(raw) * 2 - 1
        return {'value': value.view(image.shape[0], self.num_keypoints, 2)}
