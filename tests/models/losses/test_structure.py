"""Structure alignment loss on DINO keys (tiny random ViT through the real loading code)."""
import pytest
import torch
import torch.nn.functional as F
from torchvision.transforms import Resize

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


def test_weight_and_batching(loss, small_photo):
    """The batched loss equals the mean of per-sample losses; weight 0.1."""
    torch.manual_seed(1)
    driving = torch.cat([small_photo, small_photo.flip(-1)])
    prediction = (driving + 0.05 * torch.randn_like(driving)).clamp(0, 1)
    batched = loss(prediction, driving)['loss_structure']
    per_sample = [F.mse_loss(loss.self_similarity(p[None]), loss.self_similarity(d[None]))
                  for p, d in zip(prediction, driving)]
    assert loss.loss_weight == 0.1
    torch.testing.assert_close(batched, 0.1 * torch.stack(per_sample).mean())


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
