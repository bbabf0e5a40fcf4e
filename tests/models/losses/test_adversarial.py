"""FOMM's discriminator, LSGAN and feature matching."""
import pytest
import torch

from cpabmm.models.losses import (MultiScaleDiscriminator, PatchDiscriminator,
                                  feature_matching_loss, lsgan_discriminator_loss,
                                  lsgan_generator_loss)
from cpabmm.registry import MODELS
from .conftest import grads_of, shift

FOMM_ADV = dict(type='MultiScaleDiscriminator', scales=(1,), block_expansion=32,
                max_features=512, num_blocks=4)


def test_patch_discriminator_shapes():
    """4x4 valid convolutions, 2x2 pooling except after the last block:
    64 -> 61 -> 30 -> 27 -> 13 -> 10 -> 5 -> 2."""
    disc = PatchDiscriminator(block_expansion=32, max_features=512, num_blocks=4)
    features, prediction = disc(torch.rand(2, 3, 64, 64))
    assert [tuple(f.shape) for f in features] == [
        (2, 64, 30, 30), (2, 128, 13, 13), (2, 256, 5, 5), (2, 512, 2, 2)]
    assert prediction.shape == (2, 1, 2, 2)
    assert disc.down_blocks[0].norm is None and disc.down_blocks[1].norm is not None


def test_state_dict_keys_follow_fomm():
    sn = MultiScaleDiscriminator(scales=(1,), spectral_norm=True, block_expansion=32, num_blocks=4)
    keys = set(sn.state_dict())
    assert {'discs.1.down_blocks.0.conv.weight_orig', 'discs.1.down_blocks.0.conv.weight_u',
            'discs.1.down_blocks.0.conv.weight_v', 'discs.1.down_blocks.1.norm.weight',
            'discs.1.conv.weight_orig', 'discs.1.conv.bias'} <= keys
    with_kp = MultiScaleDiscriminator(scales=(1, 0.5), use_kp=True, num_kp=10)
    assert with_kp.state_dict()['discs.1.down_blocks.0.conv.weight'].shape == (128, 13, 4, 4)
    assert 'discs.0-5.conv.weight' in with_kp.state_dict()


def test_keypoint_heatmaps_are_appended():
    torch.manual_seed(0)
    disc = PatchDiscriminator(use_kp=True, num_kp=2, block_expansion=8, num_blocks=2)
    images = torch.rand(1, 3, 32, 32)
    kp = {'value': torch.tensor([[[0.0, 0.0], [-1.0, -1.0]]])}
    heatmaps = disc.heatmaps(kp['value'], (32, 32))
    assert heatmaps.shape == (1, 2, 32, 32)
    assert heatmaps[0, 1, 0, 0].item() == pytest.approx(1.0)
    assert heatmaps[0, 1, 0, 10].item() == pytest.approx(
        torch.exp(torch.tensor(-0.5 * (20 / 31) ** 2 / 0.01)).item(), rel=1e-4)
    moved = {'value': kp['value'] + 0.5}
    assert not torch.allclose(disc(images, kp)[1], disc(images, moved)[1])
    with pytest.raises(ValueError, match='use_kp=True'):
        disc(images)


def test_lsgan_and_feature_matching_known_values():
    ones, zeros, halves = torch.ones(2, 1, 3, 3), torch.zeros(2, 1, 3, 3), torch.full((2, 1, 3, 3), 0.5)
    assert lsgan_generator_loss([ones]).item() == 0
    assert lsgan_generator_loss([halves, zeros]).item() == pytest.approx(0.25 + 1)
    assert lsgan_discriminator_loss([ones], [zeros]).item() == 0
    assert lsgan_discriminator_loss([halves], [halves]).item() == pytest.approx(0.5)
    real = [[torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 2, 2)]]
    fake = [[torch.full((1, 2, 4, 4), 0.1), torch.full((1, 3, 2, 2), -0.2)]]
    assert feature_matching_loss(real, fake, (10., 5.)).item() == pytest.approx(1 + 1)
    assert feature_matching_loss(real, real, (10., 10.)).item() == 0
    with pytest.raises(ValueError, match='3 feature matching weights'):
        feature_matching_loss(real, fake, (1., 1., 1.))


@pytest.fixture()
def adversarial():
    torch.manual_seed(0)
    return MODELS.build(dict(type='AdversarialLoss', discriminator=dict(FOMM_ADV, block_expansion=8)))


def test_generator_loss_trains_the_prediction_only(adversarial, small_photo):
    prediction = shift(small_photo, 2).requires_grad_()
    driving = small_photo.clone().requires_grad_()
    losses = adversarial.generator_loss(prediction, driving)
    assert set(losses) == {'loss_gen_gan', 'loss_feature_matching'}
    sum(losses.values()).backward()
    assert prediction.grad.abs().sum() > 0 and driving.grad is None
    assert all(g is None for g in grads_of(adversarial.discriminator))
    assert all(p.requires_grad for p in adversarial.discriminator.parameters())


def test_feature_matching_is_zero_for_identical_images(adversarial, small_photo):
    losses = adversarial.generator_loss(small_photo, small_photo.clone())
    assert losses['loss_feature_matching'].item() == 0
    assert losses['loss_gen_gan'].item() > 0


def test_discriminator_loss_trains_the_discriminator_only(adversarial, small_photo):
    prediction = shift(small_photo, 2).requires_grad_()
    losses = adversarial.discriminator_loss(prediction, small_photo)
    assert set(losses) == {'loss_disc_gan'}
    losses['loss_disc_gan'].backward()
    assert prediction.grad is None
    assert all(g is not None for g in grads_of(adversarial.discriminator))


def test_discriminator_step_lowers_its_loss(adversarial, small_photo):
    """One LSGAN step on a fixed pair: the discriminator learns to tell them apart."""
    fake = shift(small_photo, 6)
    optimizer = torch.optim.Adam(adversarial.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    before = adversarial.discriminator_loss(fake, small_photo)['loss_disc_gan']
    for _ in range(5):
        optimizer.zero_grad()
        adversarial.discriminator_loss(fake, small_photo)['loss_disc_gan'].backward()
        optimizer.step()
    after = adversarial.discriminator_loss(fake, small_photo)['loss_disc_gan']
    assert after.item() < before.item()
