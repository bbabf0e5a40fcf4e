"""FOMM's motion model: one local affine map per keypoint."""
from __future__ import annotations

import torch
from torch import Tensor

from cpabmm.registry import MODELS
from .base import BaseMotion, Keypoints, MotionParams


@MODELS.register_module()
class AffineMotion(BaseMotion):
    """First-order motion: ``T_k(z) = kp_s,k + J_s,k J_d,k^-1 (z - kp_d,k)``.

    With Jacobians absent (FOMM's zero-order variant) the maps are
    translations. Each transformation sends its driving keypoint exactly onto
    its source keypoint.

    Args:
        num_keypoints: keypoints K per frame; also the number of maps.
        use_jacobian: use the keypoints' ``'jacobian'`` entries.
    """

    def __init__(self, num_keypoints: int = 10, use_jacobian: bool = True):
        super().__init__()
        self.num_keypoints = num_keypoints
        self.num_transforms = num_keypoints
        self.use_jacobian = use_jacobian

    def fit(self, kp_source: Keypoints, kp_driving: Keypoints) -> MotionParams:
        self.check_keypoints(kp_source, kp_driving)
        params = {'kp_source': kp_source['value'], 'kp_driving': kp_driving['value']}
        if self.use_jacobian:
            if 'jacobian' not in kp_source or 'jacobian' not in kp_driving:
                raise ValueError("AffineMotion(use_jacobian=True) needs a 'jacobian' entry in "
                                 'both keypoint dicts; use a detector that estimates them or '
                                 'set use_jacobian=False')
            params['jacobian'] = torch.matmul(
                kp_source['jacobian'], torch.inverse(kp_driving['jacobian']))
        return params

    def warp_points(self, params: MotionParams, points: Tensor) -> Tensor:
        kp_source, kp_driving = params['kp_source'], params['kp_driving']
        if points.dim() == 2:
            points = points.unsqueeze(0)
        offsets = points.unsqueeze(1) - kp_driving.unsqueeze(2)  # [B, K, P, 2]
        if 'jacobian' in params:
            offsets = torch.matmul(params['jacobian'].unsqueeze(2), offsets.unsqueeze(-1))
            offsets = offsets.squeeze(-1)
        return offsets + kp_source.unsqueeze(2)
