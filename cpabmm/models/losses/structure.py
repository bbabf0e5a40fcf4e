"""CPABMM's structure alignment loss on DINO ViT keys (after Splice, Tumanyan et al.)."""
from __future__ import annotations

from typing import Dict, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cpabmm.registry import MODELS
from ..backbones.frozen import imagenet_normalize
from .reconstruction import build_backbone
from .utils import check_images, check_same_shape


def short_side_size(size: Tuple[int, int], short_side: int, max_size: int) -> Tuple[int, int]:
    """``(h, w)`` with the short side ``short_side`` and the aspect ratio kept,
    unless the long side would exceed ``max_size`` (then it is ``max_size``);
    the rounding of torchvision's ``Resize(short_side, max_size=max_size)``."""
    h, w = size
    short, long = min(h, w), max(h, w)
    new_short, new_long = short_side, int(short_side * long / short)
    if new_long > max_size:
        new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_short, new_long) if h <= w else (new_long, new_short)


def cosine_self_similarity(tokens: Tensor, eps: float = 1e-8) -> Tensor:
    """Token-token cosine similarity ``[B, T, T]`` of ``[B, T, D]`` tokens."""
    norms = tokens.norm(dim=-1, keepdim=True)
    return (tokens @ tokens.transpose(1, 2)) / (norms @ norms.transpose(1, 2)).clamp_min(eps)


REDUCTIONS = ('sum_over_batch', 'mean')


@MODELS.register_module()
class StructureAlignmentLoss(nn.Module):
    """``loss_weight * sum_b MSE(S(prediction_b), S(driving_b))`` where ``S``
    is the cosine self-similarity of the keys of the last DINO block (all
    heads, CLS included), computed for the whole batch at once.

    As published (``calculate_structure_ssim_loss`` in the official
    ``modules/model.py``), each sample's MSE is the mean over the entries of
    its ``[T, T]`` similarity matrix, and the samples' MSEs are **summed**
    over the batch (``reduction='sum_over_batch'``, the default), so the
    loss grows with the batch size. ``reduction='mean'`` averages them
    instead (the MSE over all entries of the batch): the published value
    divided by the batch size.

    Frames are resized so that the short side is ``short_side`` (bilinear,
    anti-aliased; long side at most ``max_size``) and ImageNet-normalised.
    The driving side is the target (no gradient); the backbone is frozen.

    Args:
        backbone: the DINO ViT (default ViT-B/8 from a local checkpoint).
        loss_weight: the weight (paper: 0.1).
        short_side, max_size: the resize.
        reduction: ``'sum_over_batch'`` (published) or ``'mean'`` over the
            batch; within a sample always the mean over the matrix entries.
        loss_name: key of the returned dict.
    """

    def __init__(self, backbone: Union[dict, nn.Module] = dict(type='DINOViT'),
                 loss_weight: float = 0.1, short_side: int = 224, max_size: int = 480,
                 reduction: str = 'sum_over_batch', loss_name: str = 'loss_structure'):
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f'StructureAlignmentLoss reduction must be one of {REDUCTIONS}, '
                             f'got {reduction!r}')
        self.reduction = reduction
        self.backbone = build_backbone(backbone)
        self.loss_weight = float(loss_weight)
        self.short_side = short_side
        self.max_size = max_size
        self.loss_name = loss_name

    def self_similarity(self, images: Tensor) -> Tensor:
        """``[B, 3, H, W]`` in [0, 1] -> ``[B, T, T]`` key self-similarities."""
        size = short_side_size(tuple(images.shape[-2:]), self.short_side, self.max_size)
        if size != tuple(images.shape[-2:]):
            images = F.interpolate(images, size=size, mode='bilinear', align_corners=False,
                                   antialias=True)
        return cosine_self_similarity(self.backbone(imagenet_normalize(images)))

    def forward(self, prediction: Tensor, driving: Tensor) -> Dict[str, Tensor]:
        check_images(prediction, 'prediction')
        check_same_shape(prediction, driving, 'prediction and driving')
        with torch.no_grad():
            target = self.self_similarity(driving)
        # Per-sample MSE over the [T, T] entries, then the batch reduction.
        per_sample = (self.self_similarity(prediction) - target).square().mean(dim=(1, 2))
        value = per_sample.sum() if self.reduction == 'sum_over_batch' else per_sample.mean()
        return {self.loss_name: self.loss_weight * value}
