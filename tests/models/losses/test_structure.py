"""Structure alignment loss on DINO keys (tiny random ViT through the real loading code)."""
import pytest
import torch
import torch.nn.functional as F
from torchvision.transforms import Compose, Normalize, Resize

from cpabmm.models.backbones import DINOViT
from cpabmm.models.losses import StructureAlignmentLoss, cosine_self_similarity
from cpabmm.models.losses.structure import short_side_size
from cpabmm.registry import MODELS
from .conftest import grads_of, shift

SMALL = dict(patch_size=8, embed_dim=32, depth=2, num_heads=4, train_size=32)


@pytest.fixture(scope='module')
def loss(tmp_path_factory):
    """The loss on a small ViT loaded from a file with the official key names."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('dino') / 'dino_small.pth'
    torch.save(DINOViT(pretrained=False, **SMALL).state_dict(), path)
    backbone = dict(type='DINOViT', checkpoint=str(path), **SMALL)
    return MODELS.build(dict(type='StructureAlignmentLoss', backbone=backbone, short_side=48))


@pytest.mark.parametrize('size', [(256, 256), (256, 384), (300, 200), (100, 600), (224, 224)])
def test_resize_follows_torchvision(size):
    expected = Resize(224, max_size=480)(torch.zeros(3, *size)).shape[-2:]
    assert short_side_size(size, 224, 480) == tuple(expected)


def test_cosine_self_similarity_against_pairwise_cosines():
    tokens = torch.randn(2, 5, 7, dtype=torch.float64)
    expected = F.cosine_similarity(tokens[:, :, None], tokens[:, None], dim=-1)
    torch.testing.assert_close(cosine_self_similarity(tokens), expected)


def test_identical_images_give_zero_and_a_shift_increases_the_loss(loss, small_photo):
    values = [loss(shift(small_photo, s), small_photo)['loss_structure'].item() for s in (0, 8)]
    assert values[0] == pytest.approx(0, abs=1e-10)
    assert values[1] > 0


def published_loop(loss, prediction, driving):
    """The official per-sample loop (``calculate_structure_ssim_loss``):
    torchvision's resize and normalisation per image, the keys' cosine
    self-similarity, ``F.mse_loss`` per sample, summed over the batch."""
    transform = Compose([Resize(loss.short_side, max_size=loss.max_size),
                         Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    total = 0.0
    for d, p in zip(driving, prediction):
        keys_d, keys_p = (loss.backbone(transform(x)[None])[0] for x in (d, p))
        sim_d, sim_p = (F.cosine_similarity(k[:, None], k[None], dim=-1) for k in (keys_d, keys_p))
        total = total + F.mse_loss(sim_p, sim_d)
    return total


@pytest.fixture(scope='module')
def pair(small_photo):
    torch.manual_seed(1)
    driving = torch.cat([small_photo, small_photo.flip(-1)])
    prediction = (driving + 0.05 * torch.randn_like(driving)).clamp(0, 1)
    return prediction, driving


def test_published_reduction_sums_per_sample_mses(loss, pair):
    """Default 'sum_over_batch': 0.1 * the sum over samples of the per-sample
    MSE, as the official loop computes it."""
    prediction, driving = pair
    assert loss.loss_weight == 0.1 and loss.reduction == 'sum_over_batch'
    batched = loss(prediction, driving)['loss_structure']
    expected = 0.1 * published_loop(loss, prediction, driving)
    assert expected > 0
    torch.testing.assert_close(batched, expected, rtol=1e-4, atol=1e-9)


def test_batch_of_two_is_the_sum_of_the_single_sample_losses(loss, pair):
    prediction, driving = pair
    singles = [loss(prediction[i:i + 1], driving[i:i + 1])['loss_structure'] for i in range(2)]
    torch.testing.assert_close(loss(prediction, driving)['loss_structure'], singles[0] + singles[1])


def test_mean_reduction_divides_by_the_batch_size(loss, pair):
    prediction, driving = pair
    mean_loss = StructureAlignmentLoss(backbone=loss.backbone, short_side=loss.short_side,
                                       reduction='mean')
    total = loss(prediction, driving)['loss_structure']
    torch.testing.assert_close(mean_loss(prediction, driving)['loss_structure'], total / 2)
    with pytest.raises(ValueError, match='reduction'):
        StructureAlignmentLoss(backbone=loss.backbone, reduction='sum')


def test_tokens_include_cls(loss, small_photo):
    similarity = loss.self_similarity(small_photo)
    assert similarity.shape == (1, 1 + 6 * 6, 1 + 6 * 6)  # 64 px -> 48 px -> 6x6 patches
    torch.testing.assert_close(similarity.diagonal(dim1=1, dim2=2), torch.ones(1, 37))


def test_gradients_reach_the_prediction_only(loss, small_photo):
    prediction = shift(small_photo, 4).requires_grad_()
    driving = small_photo.clone().requires_grad_()
    loss(prediction, driving)['loss_structure'].backward()
    assert prediction.grad.abs().sum() > 0
    assert driving.grad is None
    assert all(g is None for g in grads_of(loss.backbone))
    assert loss.state_dict() == {}


def test_default_needs_the_dino_file(monkeypatch, tmp_path):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    with pytest.raises(FileNotFoundError, match='dino_vitbase8_pretrain.pth'):
        StructureAlignmentLoss()
