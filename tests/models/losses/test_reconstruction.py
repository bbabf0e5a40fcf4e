"""Perceptual (VGG-19) and weight-free reconstruction pyramids."""
import pytest
import torch

from cpabmm.models.backbones import VGG19
from cpabmm.models.losses import (ImagePyramid, PerceptualPyramidLoss,
                                  ReconstructionPyramidLoss)
from cpabmm.registry import MODELS
from .conftest import grads_of, shift


SCALES = (1, 0.5, 0.25)  # 64 px images: relu5_1 is 1x1 at the coarsest scale


@pytest.fixture(scope='module')
def vgg():
    torch.manual_seed(0)
    return VGG19(pretrained=False)


def test_perceptual_defaults_are_published_and_need_weights(monkeypatch, tmp_path):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    with pytest.raises(FileNotFoundError, match='vgg19-dcbb9e9d.pth'):
        MODELS.build(dict(type='PerceptualPyramidLoss'))
    loss = PerceptualPyramidLoss(backbone=dict(type='VGG19', pretrained=False))
    assert loss.pyramid.scales == (1, 0.5, 0.25, 0.125)
    assert loss.layer_weights == (10,) * 5
    assert loss.state_dict() == {}  # the frozen VGG stays out of checkpoints


def test_perceptual_is_zero_for_identical_images_and_grows_with_a_shift(vgg, small_photo):
    loss = PerceptualPyramidLoss(scales=SCALES, backbone=vgg)
    values = [loss(shift(small_photo, s), small_photo)['loss_perceptual'].item() for s in (0, 1, 4)]
    assert values[0] == 0
    assert 0 < values[1] < values[2]


def test_perceptual_value_is_the_weighted_feature_difference(vgg, small_photo):
    prediction = shift(small_photo, 3)
    loss = PerceptualPyramidLoss(scales=(1,), layer_weights=(2., 0, 0, 0, 0.5), backbone=vgg)
    with torch.no_grad():
        a, b = vgg(prediction), vgg(small_photo)
    expected = 2 * (a[0] - b[0]).abs().mean() + 0.5 * (a[4] - b[4]).abs().mean()
    torch.testing.assert_close(loss(prediction, small_photo)['loss_perceptual'], expected)


def test_perceptual_gradients_reach_the_prediction_only(vgg, small_photo):
    prediction = shift(small_photo, 2).requires_grad_()
    target = small_photo.clone().requires_grad_()
    loss = PerceptualPyramidLoss(scales=SCALES, backbone=vgg, loss_name='loss_vgg')
    loss(prediction, target)['loss_vgg'].backward()
    assert prediction.grad is not None and prediction.grad.abs().sum() > 0
    assert target.grad is None
    assert all(g is None for g in grads_of(vgg))


def test_perceptual_checks_its_inputs(vgg, small_photo):
    loss = PerceptualPyramidLoss(scales=SCALES, backbone=vgg, layer_weights=(1., 1.))
    with pytest.raises(ValueError, match='2 layer_weights for a backbone with 5 outputs'):
        loss(small_photo, small_photo)
    with pytest.raises(ValueError, match='same shape'):
        loss(small_photo, small_photo[..., :32])


def test_reconstruction_is_zero_for_identical_images_and_grows_with_a_shift(photo):
    loss = MODELS.build(dict(type='ReconstructionPyramidLoss'))
    values = [loss(shift(photo, s), photo)['loss_reconstruction'].item() for s in (0, 1, 4)]
    assert values[0] == pytest.approx(0, abs=1e-6)
    assert 0 < values[1] < values[2]


def test_reconstruction_l1_term_known_value(photo):
    loss = ReconstructionPyramidLoss(scales=(1, 0.5), l1_weight=3., ssim_weight=0.)
    offset = 0.1 * torch.ones_like(photo)
    value = loss(photo + offset, photo)['loss_reconstruction']
    # the pyramid is linear: the difference at scale 0.5 is the down-sampled offset
    coarse_offset = ImagePyramid((0.5,))(offset)[0.5].mean()
    assert value.item() == pytest.approx(3 * (0.1 + coarse_offset.item()), rel=1e-5)


def test_reconstruction_gradients_reach_the_prediction_only(photo):
    prediction = shift(photo, 2).requires_grad_()
    target = photo.clone().requires_grad_()
    ReconstructionPyramidLoss()(prediction, target)['loss_reconstruction'].backward()
    assert prediction.grad.abs().sum() > 0 and target.grad is None


def test_reconstruction_needs_images_larger_than_the_window():
    with pytest.raises(ValueError, match='smaller than the SSIM window'):
        ReconstructionPyramidLoss()(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
