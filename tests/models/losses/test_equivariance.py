"""Random TPS warps and the equivariance losses."""
import pytest
import torch
from torch import nn

from cpabmm.models.losses import (EquivarianceLoss, RandomTPS, equivariance_jacobian_loss,
                                  equivariance_value_loss)
from cpabmm.models.losses.equivariance import pixel_grid
from cpabmm.registry import MODELS

SIZE = 97  # pixels per side of the test frames


class CentroidDetector(nn.Module):
    """An exactly equivariant detector: the intensity centroid of each channel,
    in [-1, 1] (x first), optionally shifted by a learnable offset."""

    def __init__(self, num_kp):
        super().__init__()
        self.offset = nn.Parameter(torch.zeros(num_kp, 2))

    def forward(self, images):
        weights = images / images.sum(dim=(2, 3), keepdim=True)
        grid = pixel_grid(images.shape[2], images.shape[3], images.dtype)
        value = (weights.unsqueeze(-1) * grid).sum(dim=(2, 3)) + self.offset
        return {'value': value}


def blobs(centres, size=SIZE, width=0.03):
    """One Gaussian blob per channel at ``centres [B, K, 2]`` in [-1, 1]."""
    grid = pixel_grid(size, size, centres.dtype)
    squared = ((grid - centres[:, :, None, None]) ** 2).sum(-1)
    return torch.exp(-squared / (2 * width ** 2))


CENTRES = torch.tensor([[[-0.3, 0.2], [0.25, -0.35], [0.1, 0.4]]], dtype=torch.float64)


@pytest.mark.parametrize('radial', ['euclidean', 'manhattan'])
def test_jacobian_matches_autograd(radial):
    torch.manual_seed(0)
    transform = RandomTPS.sample(2, 0.1, 0.05, 5, radial, dtype=torch.float64)
    points = torch.rand(2, 7, 2, dtype=torch.float64) * 2 - 1
    expected = torch.stack([
        torch.autograd.functional.jacobian(
            lambda p, b=b: transform.warp_points(p.expand(2, -1, -1))[b], points[b:b + 1])
        .squeeze(-3).diagonal(dim1=0, dim2=2).permute(2, 0, 1)
        for b in range(2)])
    torch.testing.assert_close(transform.jacobian(points), expected, rtol=1e-9, atol=1e-9)


def test_published_kernels():
    """TPSMM: U = r^2 log(r^2 + 1e-9) of the Euclidean distance; FOMM: U = d^2 log(d + 1e-6)
    of the L1 distance; x and y are displaced alike."""
    affine = torch.eye(2, 3, dtype=torch.float64)[None]
    control = torch.tensor([[0.0, 0.0]], dtype=torch.float64)
    weights = torch.tensor([[0.5]], dtype=torch.float64)
    point = torch.tensor([[[0.3, -0.4]]], dtype=torch.float64)
    tpsmm = RandomTPS(affine, control, weights, 'euclidean').warp_points(point)
    r2 = torch.tensor(0.25, dtype=torch.float64)
    torch.testing.assert_close(tpsmm, point + 0.5 * r2 * torch.log(r2 + 1e-9))
    fomm = RandomTPS(affine, control, weights, 'manhattan').warp_points(point)
    d = torch.tensor(0.7, dtype=torch.float64)
    torch.testing.assert_close(fomm, point + 0.5 * d ** 2 * torch.log(d + 1e-6))


def test_sample_uses_the_published_control_grid_and_noise():
    generator = torch.Generator().manual_seed(3)
    transform = RandomTPS.sample(4000, 0.05, 0.005, 5, generator=generator)
    assert transform.control_points.shape == (25, 2)
    torch.testing.assert_close(transform.control_points[:5, 0], torch.linspace(-1, 1, 5))
    assert (transform.affine - torch.eye(2, 3)).std().item() == pytest.approx(0.05, rel=0.03)
    assert transform.weights.std().item() == pytest.approx(0.005, rel=0.03)
    again = RandomTPS.sample(4000, generator=torch.Generator().manual_seed(3))
    assert torch.equal(again.weights, transform.weights)


def test_identity_transform_gives_zero():
    images = blobs(CENTRES).float()
    identity = RandomTPS.identity(1)
    torch.testing.assert_close(identity.warp_images(images), images, rtol=0, atol=1e-6)
    detector = CentroidDetector(3)
    kp = detector(images)
    losses = EquivarianceLoss()(detector, images, kp, transform=identity)
    assert losses['loss_equivariance_value'].item() == pytest.approx(0, abs=1e-6)


def test_images_and_keypoints_are_warped_consistently():
    """A blob at q in the driving frame appears at p with T(p) = q in the warped frame."""
    torch.manual_seed(1)
    transform = RandomTPS.sample(1, 0.1, 0.01, 5, dtype=torch.float64)
    warped = transform.warp_images(blobs(CENTRES))
    found = CentroidDetector(3).double()(warped)['value']
    torch.testing.assert_close(transform.warp_points(found), CENTRES, rtol=0, atol=3e-3)
    assert (found - CENTRES).abs().max() > 0.02  # the warp did move the blobs


def test_equivariant_detector_has_near_zero_loss_and_a_fixed_one_does_not():
    torch.manual_seed(2)
    driving = blobs(CENTRES).float()
    loss = EquivarianceLoss(value_weight=10.)
    detector = CentroidDetector(3)
    transform = loss.sample_transform(driving)
    value = loss(detector, driving, detector(driving), transform)['loss_equivariance_value']
    assert value.item() < 10 * 2e-3

    def fixed(images):
        return {'value': CENTRES.float().expand(len(images), -1, -1)}

    expected = 10 * (CENTRES.float() - transform.warp_points(CENTRES.float())).abs().mean()
    fixed_value = loss(fixed, driving, fixed(driving), transform)['loss_equivariance_value']
    torch.testing.assert_close(fixed_value, expected)
    assert fixed_value.item() > 10 * value.item()


def test_gradients_reach_the_detector():
    torch.manual_seed(4)
    driving = blobs(CENTRES).float()
    detector = CentroidDetector(3)
    with torch.no_grad():
        detector.offset.normal_(0, 0.1)
    loss = EquivarianceLoss()
    value = loss(detector, driving, detector(driving))['loss_equivariance_value']
    value.backward()
    assert detector.offset.grad is not None and detector.offset.grad.abs().sum() > 0


def test_jacobian_term_vanishes_for_consistent_jacobians():
    """With T affine (J_T = A), detector Jacobians J' = A^-1 J give zero; others do not."""
    torch.manual_seed(5)
    transform = RandomTPS.sample(2, 0.1, 0.0, 5)
    jac_driving = torch.eye(2) + 0.3 * torch.randn(2, 4, 2, 2)
    linear = transform.affine[:, None, :, :2]
    jac_transformed = torch.linalg.solve(linear, jac_driving)
    kp = torch.rand(2, 4, 2) * 2 - 1
    zero = equivariance_jacobian_loss(jac_driving, jac_transformed, kp, transform)
    assert zero.item() == pytest.approx(0, abs=1e-6)
    off = equivariance_jacobian_loss(jac_driving, jac_transformed + 0.1, kp, transform)
    assert off.item() > 0.01
    assert equivariance_value_loss(kp, kp, RandomTPS.identity(2)).item() == 0


def test_module_returns_both_terms_and_checks_the_detector():
    driving = blobs(CENTRES).float()
    loss = MODELS.build(dict(type='EquivarianceLoss', jacobian_weight=10., radial='manhattan'))
    detector = CentroidDetector(3)

    def with_jacobian(images):
        out = detector(images)
        return dict(out, jacobian=torch.eye(2).expand(len(images), 3, 2, 2))

    losses = loss(with_jacobian, driving, with_jacobian(driving))
    assert set(losses) == {'loss_equivariance_value', 'loss_equivariance_jacobian'}
    with pytest.raises(ValueError, match="returns 'jacobian'"):
        loss(detector, driving, detector(driving))
    with pytest.raises(ValueError, match='radial must be one of'):
        EquivarianceLoss(radial='cubic')
