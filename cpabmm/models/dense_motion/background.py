"""TPSMM's background motion predictor."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from cpabmm.registry import MODELS
from ..layers import resnet18


@MODELS.register_module()
class BackgroundMotionPredictor(nn.Module):
    """An affine map of the background from ``cat(source, driving)``.

    A ResNet-18 with a ``2 * in_channels``-channel input regresses the top two
    rows of a 3x3 matrix; its last layer starts at the identity. The matrix
    is a backward map like the motion models' (driving to source coordinates,
    applied with a projective division).

    Args:
        in_channels: channels of one image.
    """

    def __init__(self, in_channels: int = 3):
        super().__init__()
        self.backbone = resnet18(2 * in_channels, 6)
        nn.init.zeros_(self.backbone.fc.weight)
        with torch.no_grad():
            self.backbone.fc.bias.copy_(torch.tensor([1., 0., 0., 0., 1., 0.]))

    def forward(self, source: Tensor, driving: Tensor) -> Tensor:
        """Returns ``[B, 3, 3]`` with last row (0, 0, 1)."""
        rows = self.backbone(torch.cat([source, driving], dim=1)).view(-1, 2, 3)
        last = torch.tensor([0., 0., 1.], dtype=rows.dtype, device=rows.device)
        return torch.cat([rows, last.expand(rows.shape[0], 1, 3)], dim=1)
