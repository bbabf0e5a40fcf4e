"""The losses on a CUDA device give the CPU values (skipped without CUDA)."""
import pytest
import torch

from cpabmm.models.losses import (EquivarianceLoss, KeypointSemanticLoss, PerceptualPyramidLoss,
                                  RandomTPS, ReconstructionPyramidLoss, StructureAlignmentLoss)
from .conftest import shift

pytestmark = pytest.mark.cuda

TINY_VIT = dict(type='DINOViT', pretrained=False, patch_size=8, embed_dim=32, depth=2,
                num_heads=4, train_size=32)
TINY_SAM = dict(type='SAMImageEncoder', pretrained=False,
                arch=dict(img_size=64, embed_dim=32, depth=2, num_heads=2,
                          global_attn_indexes=(1,), window_size=2, out_chans=16))


def on_both_devices(build, *inputs):
    """Loss values of the same module on CPU and on CUDA."""
    torch.manual_seed(0)
    module = build()
    cpu = module(*inputs)
    cuda = module.cuda()(*[x.cuda() if isinstance(x, torch.Tensor) else x for x in inputs])
    return cpu, {k: v.cpu() for k, v in cuda.items()}


@pytest.mark.parametrize('build', [
    lambda: PerceptualPyramidLoss(scales=(1, 0.5, 0.25),
                                  backbone=dict(type='VGG19', pretrained=False)),
    lambda: ReconstructionPyramidLoss(),
    lambda: StructureAlignmentLoss(backbone=TINY_VIT, short_side=48),
], ids=['perceptual', 'reconstruction', 'structure'])
def test_image_losses_match_cpu(build, small_photo):
    cpu, cuda = on_both_devices(build, shift(small_photo, 3), small_photo)
    for key in cpu:
        torch.testing.assert_close(cuda[key], cpu[key], rtol=1e-3, atol=1e-4)


def test_keypoint_semantic_loss_with_cache_on_cuda():
    torch.manual_seed(0)
    frames = torch.rand(4, 3, 64, 64)
    kp = torch.rand(2, 5, 2) * 2 - 1
    loss = KeypointSemanticLoss(encoder=TINY_SAM, cache=dict(dtype='float32'))
    cpu = loss(frames[:2], frames[2:], kp, kp.flip(1))['loss_keypoint_semantic']
    loss.cuda()
    keys = [('a', 0), ('a', 1)], [('a', 2), ('a', 3)]
    for _ in range(2):  # cold, then warm (the cache keeps its entries on the CPU)
        cuda = loss(frames[:2].cuda(), frames[2:].cuda(), kp.cuda(), kp.flip(1).cuda(),
                    *keys)['loss_keypoint_semantic']
        torch.testing.assert_close(cuda.cpu(), cpu, rtol=1e-3, atol=1e-4)


def test_random_tps_on_cuda(small_photo):
    transform = RandomTPS.sample(1, device='cuda')
    warped = transform.warp_images(small_photo.cuda())
    assert warped.is_cuda and warped.shape == small_photo.shape
    detector = lambda images: {'value': images.mean(1).flatten(1)[:, :10].view(-1, 5, 2)}  # noqa: E731
    losses = EquivarianceLoss()(detector, small_photo.cuda(), detector(small_photo.cuda()))
    assert losses['loss_equivariance_value'].is_cuda
