"""Multi-scale reconstruction losses: the VGG-19 perceptual pyramid of the
papers, and a weight-free L1 + SSIM pyramid for configs without downloads."""
from __future__ import annotations

from typing import Dict, Sequence, Union

import torch
from torch import Tensor, nn

from cpabmm.registry import MODELS
from .pyramid import ImagePyramid
from .ssim import ssim
from .utils import check_images, check_same_shape

PUBLISHED_SCALES = (1, 0.5, 0.25, 0.125)


def build_backbone(backbone: Union[dict, nn.Module]) -> nn.Module:
    """A frozen feature network from a config dict (or as given)."""
    return MODELS.build(backbone) if isinstance(backbone, dict) else backbone


@MODELS.register_module()
class PerceptualPyramidLoss(nn.Module):
    """sum over scales s and layers l of ``w_l mean|VGG_l(P_s) - VGG_l(D_s)|``.

    ``P_s``/``D_s`` are the prediction and the driving frame at pyramid scale
    ``s``. The target's features carry no gradient; the backbone is frozen,
    so only the prediction receives gradients.

    Args:
        scales: pyramid scales (published: 1, 0.5, 0.25, 0.125).
        layer_weights: one weight per backbone output (published: 10 on each
            of relu1_1 ... relu5_1); zero weights skip a layer.
        backbone: the feature network (default: the ImageNet VGG-19 from a
            local file, see :class:`~cpabmm.models.backbones.VGG19`).
        loss_name: key of the returned dict.
    """

    def __init__(self, scales: Sequence[float] = PUBLISHED_SCALES,
                 layer_weights: Sequence[float] = (10., 10., 10., 10., 10.),
                 backbone: Union[dict, nn.Module] = dict(type='VGG19'),
                 loss_name: str = 'loss_perceptual'):
        super().__init__()
        self.pyramid = ImagePyramid(scales)
        self.layer_weights = tuple(float(w) for w in layer_weights)
        self.backbone = build_backbone(backbone)
        self.loss_name = loss_name

    def forward(self, prediction: Tensor, target: Tensor) -> Dict[str, Tensor]:
        """``prediction``, ``target``: ``[B, 3, H, W]`` in [0, 1]."""
        check_images(prediction, 'prediction')
        check_same_shape(prediction, target, 'prediction and target')
        total = prediction.new_zeros(())
        predicted_pyramid = self.pyramid(prediction)
        with torch.no_grad():
            target_pyramid = self.pyramid(target.detach())
        for scale, predicted in predicted_pyramid.items():
            predicted_features = self.backbone(predicted)
            with torch.no_grad():
                target_features = self.backbone(target_pyramid[scale])
            if len(predicted_features) != len(self.layer_weights):
                raise ValueError(f'{len(self.layer_weights)} layer_weights for a backbone with '
                                 f'{len(predicted_features)} outputs')
            for weight, a, b in zip(self.layer_weights, predicted_features, target_features):
                if weight:
                    total = total + weight * (a - b).abs().mean()
        return {self.loss_name: total}


@MODELS.register_module()
class ReconstructionPyramidLoss(nn.Module):
    """Weight-free multi-scale reconstruction loss:
    sum over scales of ``l1_weight mean|P_s - D_s| + ssim_weight (1 - SSIM(P_s, D_s))``.

    SSIM needs ``window_size`` pixels per side: it is evaluated at the scales
    where the down-sampled image is that large (L1 at every scale).

    Args:
        scales: pyramid scales.
        l1_weight, ssim_weight: weights of the two terms at every scale.
        window_size, sigma: the SSIM Gaussian window.
        loss_name: key of the returned dict.
    """

    def __init__(self, scales: Sequence[float] = PUBLISHED_SCALES, l1_weight: float = 10.,
                 ssim_weight: float = 10., window_size: int = 11, sigma: float = 1.5,
                 loss_name: str = 'loss_reconstruction'):
        super().__init__()
        self.pyramid = ImagePyramid(scales)
        self.l1_weight = float(l1_weight)
        self.ssim_weight = float(ssim_weight)
        self.window_size = window_size
        self.sigma = sigma
        self.loss_name = loss_name

    def forward(self, prediction: Tensor, target: Tensor) -> Dict[str, Tensor]:
        """``prediction``, ``target``: ``[B, C, H, W]`` in [0, 1]."""
        check_images(prediction, 'prediction')
        check_same_shape(prediction, target, 'prediction and target')
        if min(prediction.shape[-2:]) < self.window_size:
            raise ValueError(f'images of {tuple(prediction.shape[-2:])} px are smaller than the '
                             f'SSIM window ({self.window_size} px)')
        target_pyramid = self.pyramid(target.detach())
        total = prediction.new_zeros(())
        for scale, predicted in self.pyramid(prediction).items():
            reference = target_pyramid[scale]
            total = total + self.l1_weight * (predicted - reference).abs().mean()
            if self.ssim_weight and min(predicted.shape[-2:]) >= self.window_size:
                similarity = ssim(predicted, reference, self.window_size, self.sigma)
                total = total + self.ssim_weight * (1 - similarity)
        return {self.loss_name: total}
