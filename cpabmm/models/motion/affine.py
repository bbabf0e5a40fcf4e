"""FOMM's motion model: one local affine map per keypoint."""
from __future__ import annotations

import torch
from torch import Tensor

from cpabmm.ops.cpab.checks import checked, has_nonfinite, listed
from cpabmm.registry import MODELS
from .base import BaseMotion, Keypoints, MotionParams


def _not_invertible(mask: Tensor) -> ValueError:
    return ValueError(f"AffineMotion.fit: kp_driving['jacobian'] cannot be inverted for "
                      f'(sample, keypoint) {listed(mask)} (singular, or its inverse '
                      'overflows): the keypoint detector gave degenerate Jacobians')


@MODELS.register_module()
class AffineMotion(BaseMotion):
    """First-order motion: ``T_k(z) = kp_s,k + J_s,k J_d,k^-1 (z - kp_d,k)``.

    With Jacobians absent (FOMM's zero-order variant) the maps are
    translations. Each transformation sends its driving keypoint exactly onto
    its source keypoint; the maps are independent, so coinciding keypoints
    are no problem. Non-finite keypoints or Jacobians (those used) and a
    driving Jacobian that cannot be inverted (singular, or an inverse that
    overflows) raise a ``ValueError`` naming the input and the keypoints;
    the value checks run on CPU tensors, on GPUs with
    ``CPABMM_CHECK_FINITE=1``.

    Args:
        num_keypoints: keypoints K per frame; also the number of maps.
        use_jacobian: use the keypoints' ``'jacobian'`` entries.
    """

    keypoint_grouping = 'per_keypoint'
    onnx_exportable = True

    def __init__(self, num_keypoints: int = 10, use_jacobian: bool = True):
        super().__init__()
        self.num_keypoints = num_keypoints
        self.num_transforms = num_keypoints
        self.use_jacobian = use_jacobian

    def fit(self, kp_source: Keypoints, kp_driving: Keypoints) -> MotionParams:
        self.check_keypoints(kp_source, kp_driving,
                             finite=('value', 'jacobian') if self.use_jacobian else ('value',))
        params = {'kp_source': kp_source['value'], 'kp_driving': kp_driving['value']}
        if self.use_jacobian:
            if 'jacobian' not in kp_source or 'jacobian' not in kp_driving:
                raise ValueError("AffineMotion(use_jacobian=True) needs a 'jacobian' entry in "
                                 'both keypoint dicts; use a detector that estimates them or '
                                 'set use_jacobian=False')
            driving = kp_driving['jacobian']
            inverse, info = torch.linalg.inv_ex(driving)
            if checked(info) and bool(info.any()):
                raise _not_invertible(info != 0)
            if has_nonfinite(inverse):
                raise _not_invertible(~torch.isfinite(inverse).flatten(2).all(dim=2))
            params['jacobian'] = torch.matmul(kp_source['jacobian'], inverse)
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
