"""SAM keypoint semantic loss with a tiny SAM encoder loaded through the real loading code."""
import pytest
import torch

from cpabmm.models.backbones import SAMImageEncoder
from cpabmm.models.losses import KeypointSemanticLoss, sample_at_keypoints
from cpabmm.registry import MODELS
from .conftest import grads_of

# 128 px input, 16 px patches: an 8x8 embedding; windows of 2x2 tokens
TINY = dict(img_size=128, embed_dim=32, depth=2, num_heads=2, global_attn_indexes=(1,),
            window_size=2, out_chans=16)


@pytest.fixture(scope='module')
def sam_file(tmp_path_factory):
    """A file in the official layout: ``image_encoder.*`` plus other SAM parts."""
    torch.manual_seed(0)
    encoder = SAMImageEncoder(arch=TINY, pretrained=False)
    state_dict = {f'image_encoder.{k}': v for k, v in encoder.encoder.state_dict().items()}
    state_dict['mask_decoder.iou_token.weight'] = torch.zeros(1, 16)
    path = tmp_path_factory.mktemp('sam') / 'sam_tiny.pth'
    torch.save(state_dict, path)
    return path


def build_loss(sam_file, **kwargs):
    encoder = dict(type='SAMImageEncoder', arch=TINY, checkpoint=str(sam_file))
    return MODELS.build(dict(type='KeypointSemanticLoss', encoder=encoder, **kwargs))


def keypoints(batch=2, k=5, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, k, 2, generator=generator) * 1.2 - 0.6


def test_sampling_at_cell_centres_returns_the_cells():
    embedding = torch.randn(1, 3, 4, 4)
    centres = torch.tensor([[[-0.75, -0.75], [0.25, 0.75]]])  # cells (0, 0) and (y=3, x=2)
    samples = sample_at_keypoints(embedding, centres)
    torch.testing.assert_close(samples[0, 0], embedding[0, :, 0, 0])
    torch.testing.assert_close(samples[0, 1], embedding[0, :, 3, 2])


def test_identical_frames_and_keypoints_give_zero(sam_file):
    loss = build_loss(sam_file, cache=None)
    frames = torch.rand(2, 3, 128, 128)
    kp = {'value': keypoints()}
    value = loss(frames, frames.clone(), kp, kp)['loss_keypoint_semantic']
    assert value.item() == pytest.approx(0, abs=1e-6)


def test_keypoints_that_follow_a_shift_agree_better_than_fixed_ones(sam_file):
    """Randomly initialised SAM has zero position terms, so its embedding moves
    with the image when the shift is a whole window (2 cells = 32 px here)."""
    loss = build_loss(sam_file, cache=None)
    torch.manual_seed(1)
    source = torch.rand(2, 3, 128, 128)
    driving = torch.roll(source, shifts=32, dims=-1)
    kp_source = keypoints() * 0.4 - 0.2  # well inside, away from the borders and the wrap
    followed = kp_source + torch.tensor([32 * 2 / 127, 0.0])
    aligned = loss(source, driving, kp_source, followed)['loss_keypoint_semantic']
    fixed = loss(source, driving, kp_source, kp_source)['loss_keypoint_semantic']
    assert aligned.item() < 1e-3
    assert fixed.item() > 20 * aligned.item()


def test_gradients_reach_the_keypoints_only(sam_file):
    loss = build_loss(sam_file, cache=None)
    source = torch.rand(2, 3, 128, 128, requires_grad=True)
    driving = torch.rand(2, 3, 128, 128, requires_grad=True)
    kp_source = keypoints(seed=1).requires_grad_()
    kp_driving = keypoints(seed=2).requires_grad_()
    loss(source, driving, kp_source, kp_driving)['loss_keypoint_semantic'].backward()
    assert kp_source.grad.abs().sum() > 0 and kp_driving.grad.abs().sum() > 0
    assert source.grad is None and driving.grad is None
    assert all(g is None for g in grads_of(loss.encoder))
    assert loss.state_dict() == {}


def test_cached_features_are_reused(sam_file):
    loss = build_loss(sam_file, cache=dict(dtype='float32'))
    calls = []
    loss.encoder.encoder.register_forward_hook(lambda m, i, o: calls.append(len(i[0])))
    source, driving = torch.rand(2, 3, 128, 128), torch.rand(2, 3, 128, 128)
    kp_s, kp_d = keypoints(seed=1), keypoints(seed=2)
    keys_s, keys_d = [('video', 0), ('video', 5)], [('video', 3), ('video', 0)]
    cold = loss(source, driving, kp_s, kp_d, keys_s, keys_d)['loss_keypoint_semantic']
    # frame ('video', 0) is known once the source batch is encoded
    assert calls == [2, 1]
    warm = loss(source, driving, kp_s, kp_d, keys_s, keys_d)['loss_keypoint_semantic']
    assert calls == [2, 1]
    torch.testing.assert_close(warm, cold)
    uncached = build_loss(sam_file, cache=None)
    driving_as_keyed = torch.stack([driving[0], source[0]])
    expected = uncached(source, driving_as_keyed, kp_s, kp_d)['loss_keypoint_semantic']
    torch.testing.assert_close(warm, expected)


def test_default_encoder_needs_the_sam_file(monkeypatch, tmp_path):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    with pytest.raises(FileNotFoundError, match='sam_vit_b_01ec64.pth'):
        KeypointSemanticLoss()
    with pytest.raises(FileNotFoundError, match='sam_vit_h_4b8939.pth'):
        KeypointSemanticLoss(encoder=dict(type='SAMImageEncoder', arch='vit_h'))


def test_inputs_are_checked(sam_file):
    loss = build_loss(sam_file, cache=None)
    frames = torch.rand(1, 3, 128, 128)
    with pytest.raises(ValueError, match='kp_source must be \\[B, K, 2\\]'):
        loss(frames, frames, torch.rand(1, 5), torch.rand(1, 5, 2))
    with pytest.raises(ValueError, match='kp_source and kp_driving must have the same shape'):
        loss(frames, frames, torch.rand(1, 5, 2), torch.rand(1, 4, 2))
