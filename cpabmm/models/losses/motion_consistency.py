"""Losses on the motion itself: TPSMM's warp loss and background cycle loss."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from cpabmm.registry import MODELS
from .utils import WeightedLoss, check_same_shape


def warp_loss(driving_features: Sequence[Tensor],
              warped_source_features: Sequence[Tensor]) -> Tensor:
    """``sum_l mean |E_l(D) - W_l(S)|`` over matching feature levels.

    Args:
        driving_features: the generator encoder's features of the driving
            frame, each masked by the occlusion map of its resolution,
            ``[B, C_l, H_l, W_l]``; the target (detached here).
        warped_source_features: the source's encoder features warped by the
            dense flow and masked likewise, same shapes, same order. The
            model computes them from *detached* encoder features and
            occlusion maps (as published), so that this loss trains the
            motion only.
    """
    if len(driving_features) != len(warped_source_features) or not driving_features:
        raise ValueError('warp_loss needs the same (non-zero) number of driving and warped '
                         f'feature levels, got {len(driving_features)} and '
                         f'{len(warped_source_features)}')
    total = warped_source_features[0].new_zeros(())
    for level, (target, warped) in enumerate(zip(driving_features, warped_source_features)):
        check_same_shape(target, warped, f'level {level} driving and warped features')
        total = total + (target.detach() - warped).abs().mean()
    return total


def background_cycle_loss(forward: Tensor, backward: Tensor) -> Tensor:
    """``mean |I - A(s, d) A(d, s)|`` for ``[B, 3, 3]`` background transforms."""
    if forward.dim() != 3 or forward.shape[1:] != (3, 3):
        raise ValueError(f'background transforms must be [B, 3, 3], got {list(forward.shape)}')
    check_same_shape(forward, backward, 'the two background transforms')
    eye = torch.eye(3, dtype=forward.dtype, device=forward.device)
    return (eye - forward @ backward).abs().mean()


@MODELS.register_module()
class WarpLoss(WeightedLoss):
    """Weighted :func:`warp_loss` (published weight 10):
    ``forward(driving_features, warped_source_features)``."""

    function = staticmethod(warp_loss)

    def __init__(self, loss_weight: float = 10., loss_name: str = 'loss_warp'):
        super().__init__(loss_weight, loss_name)


@MODELS.register_module()
class BackgroundCycleLoss(WeightedLoss):
    """Weighted :func:`background_cycle_loss` (published weight 10).

    ``forward(bg_source_to_driving, bg_driving_to_source)`` takes the
    background predictor's outputs for (source, driving) and (driving,
    source), both ``[B, 3, 3]``; gradients reach both.
    """

    function = staticmethod(background_cycle_loss)

    def __init__(self, loss_weight: float = 10., loss_name: str = 'loss_background'):
        super().__init__(loss_weight, loss_name)
