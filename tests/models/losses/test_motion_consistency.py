"""Warp loss and background cycle loss."""
import pytest
import torch

from cpabmm.models.losses import BackgroundCycleLoss, WarpLoss, background_cycle_loss, warp_loss
from cpabmm.registry import MODELS
from .conftest import shift

SHAPES = [(2, 8, 32, 32), (2, 16, 16, 16), (2, 32, 8, 8)]


def features(seed):
    torch.manual_seed(seed)
    return [torch.rand(shape) for shape in SHAPES]


def test_warp_loss_is_zero_for_identical_features_and_sums_levels():
    driving = features(0)
    assert warp_loss(driving, [f.clone() for f in driving]).item() == 0
    offsets = (0.1, 0.2, 0.3)
    warped = [f + o for f, o in zip(driving, offsets)]
    assert warp_loss(driving, warped).item() == pytest.approx(sum(offsets), rel=1e-5)
    loss = MODELS.build(dict(type='WarpLoss'))
    assert loss(driving, warped)['loss_warp'].item() == pytest.approx(10 * sum(offsets), rel=1e-5)


def test_warp_loss_grows_with_a_shift():
    driving = [torch.rand(1, 4, 32, 32).cumsum(-1) / 32]  # smooth along x
    values = [warp_loss(driving, [shift(driving[0], s)]).item() for s in (0, 1, 3)]
    assert values[0] == 0 and 0 < values[1] < values[2]


def test_warp_loss_gradients_reach_the_warped_features_only():
    driving = [f.requires_grad_() for f in features(0)]
    warped = [f.requires_grad_() for f in features(1)]
    WarpLoss()(driving, warped)['loss_warp'].backward()
    assert all(f.grad is None for f in driving)
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in warped)


def test_warp_loss_checks_levels():
    with pytest.raises(ValueError, match='same \\(non-zero\\) number'):
        warp_loss(features(0), features(1)[:2])
    with pytest.raises(ValueError, match='level 1'):
        warp_loss(features(0), [features(1)[0], features(1)[2], features(1)[1]])


def test_background_cycle_known_values():
    torch.manual_seed(0)
    forward = torch.eye(3) + 0.1 * torch.randn(4, 3, 3)
    assert background_cycle_loss(forward, torch.linalg.inv(forward)).item() == pytest.approx(0, abs=1e-6)
    scale = torch.diag(torch.tensor([2., 2., 1.]))[None]
    assert background_cycle_loss(scale, torch.eye(3)[None]).item() == pytest.approx(2 / 9)
    loss = BackgroundCycleLoss()
    assert loss(scale, torch.eye(3)[None])['loss_background'].item() == pytest.approx(20 / 9)


def test_background_cycle_gradients_reach_both_transforms():
    torch.manual_seed(0)
    forward = (torch.eye(3) + 0.1 * torch.randn(2, 3, 3)).requires_grad_()
    backward = (torch.eye(3) + 0.1 * torch.randn(2, 3, 3)).requires_grad_()
    BackgroundCycleLoss()(forward, backward)['loss_background'].backward()
    assert forward.grad.abs().sum() > 0 and backward.grad.abs().sum() > 0


def test_background_cycle_checks_shapes():
    with pytest.raises(ValueError, match='\\[B, 3, 3\\]'):
        background_cycle_loss(torch.eye(2)[None], torch.eye(2)[None])
