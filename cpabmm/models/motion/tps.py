"""TPSMM's motion model: K thin-plate splines, each through 5 keypoints."""
from __future__ import annotations

import torch
from torch import Tensor

from cpabmm.ops.cpab.checks import bad_rows, checked, has_nonfinite, listed
from cpabmm.registry import MODELS
from .base import BaseMotion, Keypoints, MotionParams


def tps_kernel(squared_distance: Tensor) -> Tensor:
    """The TPS radial basis U = r^2 log(r^2 + 1e-9), from squared distances."""
    return squared_distance * torch.log(squared_distance + 1e-9)


@MODELS.register_module()
class TPSMotion(BaseMotion):
    """Thin-plate spline transformations, one per group of keypoints.

    The keypoints are split into ``num_groups`` consecutive groups of
    ``points_per_group``. Group k's spline interpolates (up to the
    regulariser) from the driving keypoints to the source keypoints:
    ``T(z) = A [z; 1] + sum_i w_i U(|z - kp_d,i|^2)``, where ``[w; A]``
    solves the (n+3) x (n+3) system ``(L + regularizer I) [w; A] = [kp_s; 0]``.

    As published, the regulariser is added to the *whole* matrix (also the
    zero block of the affine constraints) and the system is solved by an
    explicit float32 inverse: the published checkpoints were trained with
    exactly this map, and these systems are ill-conditioned enough (condition
    numbers up to 3e3) for the solver's rounding to show.

    Degenerate groups: with ``regularizer > 0`` the system stays invertible
    and the map finite; a group whose driving keypoints coincide maps that
    point to (very nearly) the mean of its source keypoints, with hardly any
    bending; collinear or repeated keypoints give a spline that fits its
    targets less closely. With ``regularizer=0`` such a group makes the
    system singular: ``ValueError`` naming the groups (so does a solve that
    overflows, from keypoints far outside [-1, 1]). Non-finite keypoints
    raise a ``ValueError`` naming the input (:meth:`check_keypoints`). The
    value checks run on CPU tensors, on GPUs with ``CPABMM_CHECK_FINITE=1``.

    Args:
        num_groups: K, the number of splines.
        points_per_group: control points per spline.
        regularizer: the value added to the system's diagonal.
    """

    keypoint_grouping = 'groups'
    onnx_exportable = True

    def __init__(self, num_groups: int = 10, points_per_group: int = 5,
                 regularizer: float = 0.01):
        super().__init__()
        self.num_groups = num_groups
        self.points_per_group = points_per_group
        self.regularizer = regularizer
        self.num_keypoints = num_groups * points_per_group
        self.num_transforms = num_groups

    def fit(self, kp_source: Keypoints, kp_driving: Keypoints) -> MotionParams:
        self.check_keypoints(kp_source, kp_driving)
        groups = (self.num_groups, self.points_per_group, 2)
        control = kp_driving['value'].reshape(-1, *groups)  # [B, K, n, 2]
        target = kp_source['value'].reshape(-1, *groups)
        batch, n = control.shape[0], self.points_per_group

        # distance via the norm, then squared, as in the published solver
        distance = torch.norm(control[:, :, :, None] - control[:, :, None, :], dim=4, p=2)
        kernel = tps_kernel(distance ** 2)
        homogeneous = torch.cat([control, torch.ones_like(control[..., :1])], dim=3)
        zeros = control.new_zeros(batch, self.num_groups, 3, 3)
        system = torch.cat([
            torch.cat([kernel, homogeneous], dim=3),
            torch.cat([homogeneous.transpose(2, 3), zeros], dim=3),
        ], dim=2)
        system = system + self.regularizer * torch.eye(n + 3, dtype=system.dtype,
                                                       device=system.device)
        rhs = torch.cat([target, control.new_zeros(batch, self.num_groups, 3, 2)], dim=2)
        inverse, info = torch.linalg.inv_ex(system)
        if checked(info) and bool(info.any()):
            raise ValueError(
                f'TPSMotion.fit: the spline system is singular for (sample, group) '
                f'{listed(info.reshape(batch, self.num_groups) != 0)}: with regularizer='
                f'{self.regularizer} the driving keypoints of a group must be distinct and '
                'not all on one line; use regularizer > 0 (published: 0.01)')
        solution = torch.matmul(inverse, rhs)  # [B, K, n + 3, 2]
        if has_nonfinite(solution):
            raise ValueError(
                f'TPSMotion.fit: the spline solve overflowed for (sample, group) '
                f'{bad_rows(solution, dims=2)} (largest |driving keypoint| '
                f'{control.detach().abs().max().item():.3g}; keypoints belong in [-1, 1])')
        return {
            'control_points': control,
            'weights': solution[:, :, :n],
            'affine': solution[:, :, n:].transpose(2, 3),  # [B, K, 2, 3]
        }

    def warp_points(self, params: MotionParams, points: Tensor) -> Tensor:
        control, weights, affine = params['control_points'], params['weights'], params['affine']
        if points.dim() == 2:
            points = points.unsqueeze(0)
        # affine part: [B, K, 2, 2] @ [B, 1, 2, P] + [B, K, 2, 1] -> [B, K, 2, P]
        linear = torch.matmul(affine[..., :2], points.transpose(1, 2).unsqueeze(1))
        warped = (linear + affine[..., 2:]).transpose(2, 3)
        # radial part: U(|z - c_i|^2) [B, K, P, n] @ w [B, K, n, 2]
        squared = ((points[:, None, :, None, :] - control[:, :, None, :, :]) ** 2).sum(-1)
        return warped + torch.matmul(tps_kernel(squared), weights)
