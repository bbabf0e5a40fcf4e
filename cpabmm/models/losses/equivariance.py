"""Equivariance of the keypoint detector under random thin-plate spline warps.

A keypoint found at ``p`` in the warped frame ``D'(z) = D(T(z))`` must lie at
``T(p)`` in the driving frame ``D`` (value equivariance), and FOMM's local
Jacobians must compose the same way: ``J_D(T(p)) = J_T(p) J_D'(p)``.
"""
from __future__ import annotations

from typing import Callable, Dict, Mapping, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cpabmm.registry import MODELS
from .utils import check_images

Keypoints = Mapping[str, Tensor]
KeypointDetector = Callable[[Tensor], Keypoints]
RADIALS = ('euclidean', 'manhattan')


def pixel_grid(height: int, width: int, dtype: torch.dtype = torch.float32,
               device=None) -> Tensor:
    """Pixel centres as ``[height, width, 2]`` (x, y) in [-1, 1]."""
    xs = 2 * (torch.arange(width, dtype=dtype, device=device) / (width - 1)) - 1
    ys = 2 * (torch.arange(height, dtype=dtype, device=device) / (height - 1)) - 1
    return torch.stack(torch.meshgrid(xs, ys, indexing='xy'), dim=-1)


class RandomTPS:
    """``T(z) = A [z; 1] + (sum_i w_i U(z - c_i)) [1, 1]``, batched.

    As in the published random warps, the radial part displaces x and y by
    the same amount. ``radial`` picks the published kernel: 'euclidean'
    (TPSMM: ``U = r^2 log(r^2 + 1e-9)``, r the Euclidean distance) or
    'manhattan' (FOMM: ``U = d^2 log(d + 1e-6)``, d the L1 distance).

    Args:
        affine: ``[B, 2, 3]``.
        control_points: ``[P, 2]``, shared by the batch.
        weights: ``[B, P]``.
        radial: 'euclidean' or 'manhattan'.
    """

    def __init__(self, affine: Tensor, control_points: Tensor, weights: Tensor,
                 radial: str = 'euclidean'):
        if radial not in RADIALS:
            raise ValueError(f'radial must be one of {RADIALS}, got {radial!r}')
        if affine.dim() != 3 or affine.shape[1:] != (2, 3):
            raise ValueError(f'affine must be [B, 2, 3], got {list(affine.shape)}')
        if weights.shape != (affine.shape[0], control_points.shape[0]):
            raise ValueError(f'weights must be [B, P] = [{affine.shape[0]}, '
                             f'{control_points.shape[0]}], got {list(weights.shape)}')
        self.affine = affine
        self.control_points = control_points
        self.weights = weights
        self.radial = radial

    @classmethod
    def sample(cls, batch_size: int, sigma_affine: float = 0.05, sigma_tps: float = 0.005,
               points_tps: int = 5, radial: str = 'euclidean',
               dtype: torch.dtype = torch.float32, device=None,
               generator: Optional[torch.Generator] = None) -> 'RandomTPS':
        """Identity plus Gaussian noise of ``sigma_affine`` on the affine part;
        ``points_tps x points_tps`` control points on the [-1, 1] grid with
        Gaussian weights of ``sigma_tps`` (the papers' settings by default)."""
        noise = torch.randn(batch_size, 2, 3, generator=generator, dtype=dtype, device=device)
        affine = torch.eye(2, 3, dtype=dtype, device=device) + sigma_affine * noise
        weights = sigma_tps * torch.randn(batch_size, points_tps ** 2, generator=generator,
                                          dtype=dtype, device=device)
        control = pixel_grid(points_tps, points_tps, dtype, device).reshape(-1, 2)
        return cls(affine, control, weights, radial)

    @classmethod
    def identity(cls, batch_size: int, points_tps: int = 5, dtype: torch.dtype = torch.float32,
                 device=None) -> 'RandomTPS':
        """The identity map in the same form (zero noise)."""
        return cls.sample(batch_size, 0.0, 0.0, points_tps, dtype=dtype, device=device)

    def _offsets(self, points: Tensor) -> Tensor:
        """``z - c_i`` for points ``[B, N, 2]``: ``[B, N, P, 2]``."""
        return points.unsqueeze(2) - self.control_points.to(points)

    def _radial(self, offsets: Tensor) -> Tensor:
        if self.radial == 'euclidean':
            squared = (offsets ** 2).sum(-1)
            return squared * torch.log(squared + 1e-9)
        distance = offsets.abs().sum(-1)
        return distance ** 2 * torch.log(distance + 1e-6)

    def _radial_gradient(self, offsets: Tensor) -> Tensor:
        """dU/dz, ``[B, N, P, 2]``."""
        if self.radial == 'euclidean':
            squared = (offsets ** 2).sum(-1, keepdim=True)
            return (torch.log(squared + 1e-9) + squared / (squared + 1e-9)) * 2 * offsets
        distance = offsets.abs().sum(-1, keepdim=True)
        slope = 2 * distance * torch.log(distance + 1e-6) + distance ** 2 / (distance + 1e-6)
        return slope * torch.sign(offsets)

    def warp_points(self, points: Tensor) -> Tensor:
        """``T`` of ``[B, N, 2]`` points (a shared ``[N, 2]`` set is broadcast)."""
        points = self._batched(points)
        affine = self.affine.to(points)
        mapped = points @ affine[:, :, :2].transpose(1, 2) + affine[:, None, :, 2]
        radial = self._radial(self._offsets(points))  # [B, N, P]
        displacement = (radial * self.weights.to(points)[:, None]).sum(-1)
        return mapped + displacement.unsqueeze(-1)

    def jacobian(self, points: Tensor) -> Tensor:
        """dT/dz at ``[B, N, 2]`` points: ``[B, N, 2, 2]`` (row: output coordinate)."""
        points = self._batched(points)
        gradient = (self._radial_gradient(self._offsets(points))
                    * self.weights.to(points)[:, None, :, None]).sum(2)  # [B, N, 2]
        linear = self.affine.to(points)[:, None, :, :2]
        return linear + gradient.unsqueeze(2)

    def warp_images(self, images: Tensor, padding_mode: str = 'reflection') -> Tensor:
        """``D'(z) = D(T(z))`` for ``[B, C, H, W]`` images (``align_corners=True``)."""
        check_images(images, 'images')
        height, width = images.shape[-2:]
        grid = pixel_grid(height, width, images.dtype, images.device).reshape(-1, 2)
        sampling = self.warp_points(grid).view(-1, height, width, 2)
        return F.grid_sample(images, sampling, padding_mode=padding_mode, align_corners=True)

    def _batched(self, points: Tensor) -> Tensor:
        batch = self.affine.shape[0]
        if points.dim() == 2:
            points = points.unsqueeze(0).expand(batch, -1, -1)
        if points.dim() != 3 or points.shape[0] != batch or points.shape[-1] != 2:
            raise ValueError(f'points must be [{batch}, N, 2] or [N, 2], got {list(points.shape)}')
        return points


def equivariance_value_loss(kp_driving: Tensor, kp_transformed: Tensor,
                            transform: RandomTPS) -> Tensor:
    """``mean |kp_driving - T(kp_transformed)|`` (keypoints ``[B, K, 2]``)."""
    return (kp_driving - transform.warp_points(kp_transformed)).abs().mean()


def equivariance_jacobian_loss(jacobian_driving: Tensor, jacobian_transformed: Tensor,
                               kp_transformed: Tensor, transform: RandomTPS) -> Tensor:
    """FOMM's ``mean |I - J_D^-1 J_T(p) J_D'|`` (Jacobians ``[B, K, 2, 2]``)."""
    mapped = transform.jacobian(kp_transformed) @ jacobian_transformed
    relative = torch.linalg.solve(jacobian_driving, mapped)
    eye = torch.eye(2, dtype=relative.dtype, device=relative.device)
    return (eye - relative).abs().mean()


@MODELS.register_module()
class EquivarianceLoss(nn.Module):
    """Keypoint equivariance under a random TPS warp of the driving frame.

    Calls the keypoint detector on the warped frame, so the model plugs in
    its own detector (any callable image -> ``{'value': [B, K, 2],
    'jacobian': [B, K, 2, 2]}``). Both branches keep their gradients, as
    published: the loss trains the detector.

    Args:
        value_weight: weight of the value term (published: 10).
        jacobian_weight: weight of FOMM's Jacobian term (FOMM: 10; 0 skips it).
        sigma_affine, sigma_tps, points_tps: the random warp (published 0.05,
            0.005, 5).
        radial: 'euclidean' (TPSMM/CPABMM) or 'manhattan' (FOMM).
    """

    def __init__(self, value_weight: float = 10., jacobian_weight: float = 0.,
                 sigma_affine: float = 0.05, sigma_tps: float = 0.005, points_tps: int = 5,
                 radial: str = 'euclidean'):
        super().__init__()
        if radial not in RADIALS:
            raise ValueError(f'radial must be one of {RADIALS}, got {radial!r}')
        self.value_weight = float(value_weight)
        self.jacobian_weight = float(jacobian_weight)
        self.sigma_affine = sigma_affine
        self.sigma_tps = sigma_tps
        self.points_tps = points_tps
        self.radial = radial

    def sample_transform(self, like: Tensor) -> RandomTPS:
        """A random warp for the batch of ``like`` (its dtype and device)."""
        return RandomTPS.sample(like.shape[0], self.sigma_affine, self.sigma_tps,
                                self.points_tps, self.radial, like.dtype, like.device)

    def forward(self, detector: KeypointDetector, driving: Tensor, kp_driving: Keypoints,
                transform: Optional[RandomTPS] = None) -> Dict[str, Tensor]:
        """Args:
            detector: the keypoint detector.
            driving: ``[B, 3, H, W]`` driving frames.
            kp_driving: the detector's output on ``driving``.
            transform: the warp to use (default: a fresh random one).
        Returns:
            ``loss_equivariance_value`` and, with a Jacobian weight,
            ``loss_equivariance_jacobian``.
        """
        check_images(driving, 'driving')
        transform = transform if transform is not None else self.sample_transform(driving)
        kp_transformed = detector(transform.warp_images(driving))
        losses = {'loss_equivariance_value': self.value_weight * equivariance_value_loss(
            kp_driving['value'], kp_transformed['value'], transform)}
        if self.jacobian_weight:
            if 'jacobian' not in kp_driving or 'jacobian' not in kp_transformed:
                raise ValueError("the Jacobian equivariance term needs a detector that returns "
                                 "'jacobian'; set jacobian_weight=0 for this detector")
            value = equivariance_jacobian_loss(kp_driving['jacobian'], kp_transformed['jacobian'],
                                               kp_transformed['value'], transform)
            losses['loss_equivariance_jacobian'] = self.jacobian_weight * value
        return losses
