"""Unit tests of the building blocks and networks (small sizes)."""
import pytest
import torch
import torch.nn.functional as F

from cpabmm.models import (AVDNetwork, BackgroundMotionPredictor, DenseMotionNetwork,
                           HeatmapKeypointDetector, InpaintingGenerator,
                           OcclusionAwareGenerator, ResNetKeypointDetector, TPSMotion)
from cpabmm.models.dense_motion.dense_motion import dropout_softmax
from cpabmm.models.layers import apply_projective, coordinate_grid
from cpabmm.models.layers import AntiAliasDownsample, Hourglass


def test_coordinate_grid_matches_grid_sample_convention():
    image = torch.arange(12.).view(1, 1, 3, 4)
    grid = coordinate_grid((3, 4)).unsqueeze(0)
    assert grid[0, 0, 0].tolist() == [-1, -1] and grid[0, 2, 3].tolist() == [1, 1]
    torch.testing.assert_close(F.grid_sample(image, grid, align_corners=True), image)


class TestAntiAliasDownsample:

    def test_kernel_is_a_normalised_13x13_gaussian_for_quarter_scale(self):
        down = AntiAliasDownsample(3, 0.25)
        assert down.weight.shape == (3, 1, 13, 13)
        torch.testing.assert_close(down.weight.sum(dim=(1, 2, 3)), torch.ones(3))
        assert 'weight' in down.state_dict()

    def test_keeps_constant_images_away_from_the_border(self):
        out = AntiAliasDownsample(1, 0.25)(torch.full((1, 1, 64, 64), 0.7))
        assert out.shape == (1, 1, 16, 16)
        torch.testing.assert_close(out[..., 2:-2, 2:-2], torch.full((1, 1, 12, 12), 0.7))

    def test_uses_the_loaded_kernel(self):
        down = AntiAliasDownsample(1, 0.5)
        image = torch.rand(1, 1, 16, 16)
        kernel = torch.zeros_like(down.weight)
        kernel[..., down.pad_before, down.pad_before] = 1
        down.load_state_dict({'weight': kernel})
        torch.testing.assert_close(down(image), image[..., ::2, ::2])


def test_hourglass_reports_its_output_channels():
    hourglass = Hourglass(in_channels=5, block_expansion=4, num_blocks=3, max_features=8,
                          norm='instance')
    outs = hourglass(torch.rand(2, 5, 16, 16))
    assert [o.shape[1] for o in outs] == hourglass.out_channels == [16, 16, 9]
    assert [o.shape[-1] for o in outs] == [4, 8, 16]


class TestDropoutSoftmax:

    def test_without_dropout_is_the_softmax(self):
        logits = torch.randn(2, 5, 4, 4)
        torch.testing.assert_close(dropout_softmax(logits, 0.0), F.softmax(logits, dim=1),
                                   atol=1e-5, rtol=0)

    def test_drops_whole_transformations_but_never_the_background(self):
        torch.manual_seed(0)
        logits = torch.randn(64, 6, 3, 3)
        out = dropout_softmax(logits, 0.5)
        dropped = out.amax(dim=(2, 3)) == 0
        assert not dropped[:, 0].any()
        assert 0.3 < dropped[:, 1:].float().mean() < 0.7
        torch.testing.assert_close(out.sum(dim=1), torch.ones(64, 3, 3), atol=1e-3, rtol=0)
        assert torch.equal(dropout_softmax(logits, 1.0)[:, 0] > 0.99, torch.ones(64, 3, 3) > 0)


def small_dense_motion(**kwargs):
    defaults = dict(num_transforms=3, num_keypoints=15, block_expansion=4, max_features=16,
                    num_blocks=2, scale_factor=0.5, num_occlusion_masks=3)
    defaults.update(kwargs)
    return DenseMotionNetwork(**defaults)


class TestDenseMotionNetwork:

    def keypoints(self, batch=2, k=15, seed=0):
        generator = torch.Generator().manual_seed(seed)
        return {'value': torch.rand(batch, k, 2, generator=generator) * 1.6 - 0.8}

    def test_flow_is_the_background_map_when_it_takes_all_weight(self):
        network = small_dense_motion()
        with torch.no_grad():
            network.contribution_head.weight.zero_()
            network.contribution_head.bias.copy_(torch.tensor([50., 0., 0., 0.]))
        motion = TPSMotion(num_groups=3)
        kp_s, kp_d = self.keypoints(seed=0), self.keypoints(seed=1)
        affine = torch.tensor([[[0.9, 0.1, 0.05], [-0.1, 1.0, 0.0], [0.0, 0.0, 1.0]]] * 2)
        out = network(torch.rand(2, 3, 16, 16), kp_s, kp_d, motion, motion.fit(kp_s, kp_d),
                      bg_affine=affine)
        expected = apply_projective(affine, coordinate_grid((8, 8)).expand(2, 8, 8, 2))
        torch.testing.assert_close(out['flow'], expected, atol=1e-5, rtol=0)
        assert out['sparse_motions'].shape == (2, 4, 8, 8, 2)
        assert out['deformed_source'].shape == (2, 4, 3, 8, 8)

    def test_multi_resolution_occlusion_masks_end_at_the_input_size(self):
        network = small_dense_motion()
        motion = TPSMotion(num_groups=3)
        kp_s, kp_d = self.keypoints(), self.keypoints(seed=1)
        out = network(torch.rand(2, 3, 16, 16), kp_s, kp_d, motion, motion.fit(kp_s, kp_d))
        assert [m.shape[-1] for m in out['occlusion']] == [4, 8, 16]
        assert all(((m > 0) & (m < 1)).all() for m in out['occlusion'])

    def test_interleaved_layout_pairs_each_heatmap_with_its_warped_source(self):
        network = small_dense_motion(num_keypoints=3, input_layout='interleaved')
        source = torch.rand(1, 3, 8, 8)
        kp_s, kp_d = self.keypoints(1, 3), self.keypoints(1, 3, seed=1)
        deformed = torch.rand(1, 4, 3, 8, 8)
        grouped = small_dense_motion(num_keypoints=3)._hourglass_input(source, kp_s, kp_d,
                                                                       deformed)
        interleaved = network._hourglass_input(source, kp_s, kp_d, deformed)
        for k in range(4):  # background first, its heatmap channel is zero
            torch.testing.assert_close(interleaved[:, 4 * k], grouped[:, k])
            torch.testing.assert_close(interleaved[:, 4 * k + 1:4 * k + 4], deformed[:, k])
        assert not interleaved[:, 0].any()

    def test_configuration_errors_are_clear(self):
        with pytest.raises(ValueError, match='interleaved'):
            small_dense_motion(input_layout='interleaved')
        with pytest.raises(ValueError, match='num_occlusion_masks=9 is out of range'):
            small_dense_motion(num_occlusion_masks=9)
        network = small_dense_motion()
        kp = self.keypoints(k=50)
        with pytest.raises(ValueError, match='gives 10 transformations'):
            network(torch.rand(2, 3, 16, 16), kp, kp, TPSMotion(), TPSMotion().fit(kp, kp))


class TestGenerators:

    def test_inpainting_with_open_masks_returns_the_warped_source(self):
        generator = InpaintingGenerator(block_expansion=4, max_features=16, num_down_blocks=2)
        source = torch.rand(2, 3, 16, 16)
        flow = coordinate_grid((8, 8)).expand(2, 8, 8, 2)
        masks = [torch.ones(2, 1, s, s) for s in (4, 8, 16)]
        out = generator(source, flow, masks)
        torch.testing.assert_close(out["prediction"], source, atol=1e-5, rtol=0)
        torch.testing.assert_close(out["deformed"], source, atol=1e-5, rtol=0)

    def test_warped_features_for_the_warp_loss_train_the_flow_only(self):
        generator = InpaintingGenerator(block_expansion=4, max_features=16, num_down_blocks=2)
        flow = (coordinate_grid((8, 8)) * 0.9).expand(1, 8, 8, 2).clone().requires_grad_()
        masks = [torch.rand(1, 1, s, s) for s in (4, 8, 16)]
        out = generator(torch.rand(1, 3, 16, 16), flow, masks, return_warped_features=True)
        maps = out['warped_encoder_maps']
        assert [m.shape[-1] for m in maps] == [4, 8, 16]
        sum(m.sum() for m in maps).backward()
        assert flow.grad.abs().sum() > 0
        assert generator.stem.conv.weight.grad is None
        targets = generator.encode_driving(torch.rand(1, 3, 16, 16), masks)
        assert [t.shape[-1] for t in targets] == [16, 8, 4]
        assert not any(t.requires_grad for t in targets)

    def test_mask_counts_are_checked(self):
        with pytest.raises(ValueError, match=r'takes \(1, 3\) occlusion masks'):
            InpaintingGenerator(num_down_blocks=2).check_num_masks(4)
        generator = OcclusionAwareGenerator(block_expansion=4, max_features=16,
                                            num_bottleneck_blocks=1)
        masks = [torch.ones(1, 1, 4, 4)] * 2
        with pytest.raises(ValueError, match=r'takes \(0, 1\) occlusion masks'):
            generator(torch.rand(1, 3, 16, 16), coordinate_grid((4, 4))[None], masks)

    def test_occlusion_aware_generator_shapes(self):
        generator = OcclusionAwareGenerator(block_expansion=4, max_features=16,
                                            num_bottleneck_blocks=1).eval()
        out = generator(torch.rand(2, 3, 16, 16), coordinate_grid((4, 4)).expand(2, 4, 4, 2),
                        [torch.rand(2, 1, 4, 4)])
        assert out['prediction'].shape == out['deformed'].shape == (2, 3, 16, 16)


def test_heatmap_detector_starts_with_identity_jacobians():
    detector = HeatmapKeypointDetector(num_keypoints=4, block_expansion=4, max_features=16,
                                       num_blocks=2, scale_factor=0.5).eval()
    kp = detector(torch.rand(2, 3, 32, 32))
    assert kp['value'].shape == (2, 4, 2) and kp['value'].abs().max() <= 1
    torch.testing.assert_close(kp['jacobian'], torch.eye(2).expand(2, 4, 2, 2))


def test_resnet_detector_and_background_and_avd():
    images = torch.rand(2, 3, 64, 64)
    kp = ResNetKeypointDetector(num_keypoints=10).eval()(images)
    assert kp['value'].shape == (2, 10, 2) and kp['value'].abs().max() < 1
    affine = BackgroundMotionPredictor().eval()(images, images.flip(0))
    torch.testing.assert_close(affine, torch.eye(3).expand(2, 3, 3))
    out = AVDNetwork(num_keypoints=10, id_bottleneck=8, pose_bottleneck=8).eval()(kp, kp)
    assert out['value'].shape == (2, 10, 2)
