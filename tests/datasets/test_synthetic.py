"""The synthetic large-motion dataset: determinism, geometry, keypoints that follow the pixels."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import default_collate
from torch.utils.data import DataLoader

from cpabmm.datasets import SyntheticMotionDataset, SyntheticScene
from cpabmm.datasets.synthetic.geometry import Similarity, bend, unbend
from cpabmm.datasets.synthetic.scene import pixel_grid
from cpabmm.registry import DATASETS

PACK = [dict(type='PackFramePair')]


def sample(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear colours of ``image`` [H, W, 3] at ``points`` [..., 2] (align_corners=True)."""
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    grid = torch.from_numpy(points).float().reshape(1, 1, -1, 2)
    out = F.grid_sample(tensor, grid, align_corners=True)[0, :, 0].T.numpy()
    return out.reshape(points.shape[:-1] + (3,))


def random_pair(video, size=128, seed=0):
    scene = SyntheticScene(np.random.default_rng([seed, 0, video]), 32)
    s, d = np.random.default_rng(video).choice(32, 2, replace=False)
    return scene, int(s), int(d)


def tps_map(ctrl_from, ctrl_to, points):
    """Thin-plate spline through ``ctrl_from -> ctrl_to``, evaluated at ``points``."""
    def kernel(r2):
        return r2 * np.log(r2 + 1e-12)
    n = len(ctrl_from)
    system = np.zeros((n + 3, n + 3))
    system[:n, :n] = kernel(((ctrl_from[:, None] - ctrl_from[None]) ** 2).sum(-1))
    affine = np.hstack([np.ones((n, 1)), ctrl_from])
    system[:n, n:] = affine
    system[n:, :n] = affine.T
    rhs = np.zeros((n + 3, 2))
    rhs[:n] = ctrl_to
    coef = np.linalg.solve(system, rhs)
    flat = points.reshape(-1, 2)
    radial = kernel(((flat[:, None] - ctrl_from[None]) ** 2).sum(-1))
    out = radial @ coef[:n] + np.hstack([np.ones((len(flat), 1)), flat]) @ coef[n:]
    return out.reshape(points.shape)


# --- geometry ---------------------------------------------------------------------

@pytest.mark.parametrize('kappa', [-3.0, -0.4, 1e-9, 0.7, 2.5])
def test_bend_inverse_and_arc_length(kappa):
    rng = np.random.default_rng(0)
    points = np.stack([rng.uniform(-0.5, 0.5, 500), rng.uniform(-0.25, 0.25, 500)], -1)
    np.testing.assert_allclose(unbend(bend(points, kappa), kappa), points, atol=1e-12)
    # the axis keeps its length: integrate the bent curve's speed numerically
    u = np.linspace(-0.5, 0.5, 20001)
    curve = bend(np.stack([u, np.zeros_like(u)], -1), kappa)
    length = np.linalg.norm(np.diff(curve, axis=0), axis=1).sum()
    assert length == pytest.approx(1.0, rel=1e-6)
    # lines across the axis stay straight and perpendicular to it
    across = bend(np.stack([np.full(5, 0.3), np.linspace(-0.2, 0.2, 5)], -1), kappa)
    direction = np.diff(across, axis=0)
    cross = direction[:, 0] * direction[0, 1] - direction[:, 1] * direction[0, 0]
    np.testing.assert_allclose(cross, 0, atol=1e-12)
    tangent = curve[16001] - curve[15999]  # at u = 0.3
    assert abs(np.dot(tangent / np.linalg.norm(tangent),
                      direction[0] / np.linalg.norm(direction[0]))) < 1e-6


def test_similarity_invert_and_distances():
    similarity = Similarity(0.3, 1.2, (0.1, -0.2))
    points = np.random.default_rng(1).normal(size=(50, 2))
    np.testing.assert_allclose(similarity.invert(similarity.apply(points)), points, atol=1e-12)
    moved = similarity.apply(points)
    np.testing.assert_allclose(np.linalg.norm(moved[1:] - moved[0], axis=1),
                               1.2 * np.linalg.norm(points[1:] - points[0], axis=1))


# --- the dataset -----------------------------------------------------------------

def test_deterministic_by_seed_and_index():
    a = SyntheticMotionDataset(size=64, num_videos=5, seed=3)
    b = SyntheticMotionDataset(size=64, num_videos=5, seed=3)
    for idx in (0, 4, 2):  # any order: items depend on (seed, index) only
        first, second = a[idx], b[idx]
        np.testing.assert_array_equal(first['source'], second['source'])
        np.testing.assert_array_equal(first['kp_driving'], second['kp_driving'])
        assert first['source_index'] == second['source_index']
    other = SyntheticMotionDataset(size=64, num_videos=5, seed=4)
    assert not np.array_equal(a[0]['source'], other[0]['source'])
    test = SyntheticMotionDataset(size=64, num_videos=5, seed=3, test_mode=True)
    assert not np.array_equal(a[0]['kp_source'], test[0]['kp_source'])


@pytest.mark.parametrize('size', [64, 128, 256])
def test_sizes_and_keypoint_scale_invariance(size):
    dataset = SyntheticMotionDataset(size=size, num_videos=3, pipeline=PACK)
    item = dataset[1]
    assert item['source'].shape == (3, size, size) and item['driving'].dtype == torch.float32
    assert 0 <= item['source'].min() and item['source'].max() <= 1
    assert item['kp_source'].shape == (15, 2) and item['kp_source_visible'].dtype == torch.bool
    assert item['kp_source'].abs().max() <= 1
    # the scene is the same at every resolution: same keypoints
    reference = SyntheticMotionDataset(size=64, num_videos=3)[1]
    np.testing.assert_allclose(item['kp_driving'].numpy(), reference['kp_driving'], atol=1e-6)


def test_test_mode_reconstruction_order():
    dataset = SyntheticMotionDataset(size=64, num_videos=2, num_frames=6, test_mode=True)
    assert len(dataset) == 12
    assert [dataset[i]['driving_index'] for i in range(6)] == list(range(6))
    assert {dataset[i]['source_index'] for i in range(12)} == {0}
    assert dataset[7]['video_id'] == 'synthetic-test-00001'
    np.testing.assert_array_equal(dataset[6]['source'], dataset[6]['driving'])


def test_dataloader_batches():
    dataset = DATASETS.build(dict(
        type='SyntheticMotionDataset', size=64, num_videos=8, limbs_per_side=(2, 1),
        pipeline=[dict(type='RandomTimeFlip'), dict(type='RandomHorizontalFlip'),
                  dict(type='PackFramePair')]))
    assert dataset.metainfo['num_keypoints'] == 20
    loader = DataLoader(dataset, batch_size=4, num_workers=2, collate_fn=default_collate)
    batches = list(loader)
    assert len(batches) == 2
    assert batches[0]['source'].shape == (4, 3, 64, 64)
    assert batches[0]['kp_driving'].shape == (4, 20, 2)


def test_bad_arguments():
    with pytest.raises(ValueError, match='size must be at least 32'):
        SyntheticMotionDataset(size=16)
    with pytest.raises(ValueError, match="split must be one of"):
        SyntheticMotionDataset(split='validation')


def test_splits_hold_different_videos():
    frames = {split: SyntheticMotionDataset(size=32, split=split, num_videos=1, num_frames=2,
                                            test_mode=True)[0]['source']
              for split in ('train', 'val', 'test')}
    assert not np.allclose(frames['val'], frames['test'])
    assert not np.allclose(frames['val'], frames['train'])


# --- keypoints follow the pixels -------------------------------------------------------

@pytest.mark.parametrize('size', [64, 128])
def test_dense_correspondence_warps_source_onto_driving(size):
    """Backward-warping the source with the ground-truth map reproduces the driving frame."""
    for video in range(4):
        scene, s, d = random_pair(video)
        source, driving = scene.render(s, size), scene.render(d, size)
        grid, valid = scene.correspondence(s, d, size)
        on_object = valid & (scene.layers(d, pixel_grid(size), (size - 1) / 2).part >= 0)
        assert on_object.sum() > 0.03 * size * size
        warped = sample(source, grid)
        warp_error = np.abs(warped - driving).mean(-1)[on_object].mean()
        still_error = np.abs(source - driving).mean(-1)[on_object].mean()
        assert warp_error < 0.02  # interpolation only
        assert warp_error < still_error / 5
        background = valid & ~on_object
        assert np.abs(warped - driving).mean(-1)[background].mean() < 0.02


def test_keypoint_colours_match_between_frames():
    """Each visible keypoint lands on the same texture point in both frames."""
    for video in range(6):
        scene, s, d = random_pair(video)
        source, driving = scene.render(s, 128), scene.render(d, 128)
        kp_s, kp_d = scene.keypoints(s), scene.keypoints(d)
        visible = scene.visible_keypoints(s) & scene.visible_keypoints(d)
        assert visible.sum() >= 12
        same = np.abs(sample(source, kp_s) - sample(driving, kp_d)).mean(-1)[visible]
        shuffled = np.abs(sample(source, kp_s) - sample(driving, np.roll(kp_d, 1, 0))
                          ).mean(-1)[visible]
        assert same.mean() < 0.02 and same.mean() < shuffled.mean() / 5


def test_tps_through_keypoints_explains_the_object_motion():
    """A TPS through the ground-truth keypoints warps the object far better than no warp
    or a TPS through keypoints paired with the wrong frame."""
    errors = {'tps': [], 'still': [], 'wrong': []}
    size = 128
    for video in range(6):
        scene, s, d = random_pair(video)
        source, driving = scene.render(s, size), scene.render(d, size)
        layers = scene.layers(d, pixel_grid(size), (size - 1) / 2)
        on_object = (layers.part >= 0) & layers.clean
        wrong = (s + 9) % 32 if (s + 9) % 32 != d else (s + 5) % 32
        for name, kp_s in (('tps', scene.keypoints(s)), ('wrong', scene.keypoints(wrong))):
            warped = sample(source, tps_map(scene.keypoints(d), kp_s, pixel_grid(size)))
            errors[name].append(np.abs(warped - driving).mean(-1)[on_object].mean())
        errors['still'].append(np.abs(source - driving).mean(-1)[on_object].mean())
    tps, still, wrong = (np.mean(errors[k]) for k in ('tps', 'still', 'wrong'))
    assert tps < still / 2.5 and tps < wrong / 2


def test_motion_is_large_and_non_rigid():
    """Random pairs move keypoints far, rotate the body, and defeat a single affine map."""
    displacement, residual, turn = [], [], []
    for video in range(30):
        scene, s, d = random_pair(video)
        kp_s, kp_d = scene.keypoints(s), scene.keypoints(d)
        displacement.append(np.linalg.norm(kp_s - kp_d, axis=1).mean())
        design = np.hstack([kp_d, np.ones((len(kp_d), 1))])
        fit = design @ np.linalg.lstsq(design, kp_s, rcond=None)[0]
        residual.append(np.linalg.norm(fit - kp_s, axis=1).mean())
        turn.append(abs(scene.poses(s)[0].placement.angle - scene.poses(d)[0].placement.angle))
    assert np.median(displacement) > 0.2  # a tenth of the frame or more
    assert np.median(np.degrees(turn)) > 30
    assert np.median(residual) > 0.03  # about 2 pixels at 128 left by the best affine map


def test_occluded_keypoints_are_flagged():
    """Visibility agrees with the rendered layers: a hidden keypoint sits on another part."""
    hidden = 0
    for video in range(40):
        scene = SyntheticScene(np.random.default_rng([0, 0, video]), 32)
        for frame in (0, 16, 31):
            kp = scene.keypoints(frame)
            visible = scene.visible_keypoints(frame)
            top = scene.layers(frame, kp, 63.5).part
            np.testing.assert_array_equal(visible, top == scene.keypoint_parts)
            hidden += (~visible).sum()
    assert hidden > 0  # folding limbs do hide keypoints sometimes


def test_render_draws_exactly_the_parts():
    """The windowed renderer changes the background exactly where some part covers a pixel
    (checked against the inverse maps evaluated on the whole frame)."""
    size = 96
    for video in range(8):
        scene = SyntheticScene(np.random.default_rng([0, 0, video]), 32)
        frame = 5 * video % 32
        image = scene.render(frame, size)
        grid = pixel_grid(size)
        background = scene._sample_texture(-1, size, scene.background_pose(frame).invert(grid))
        coverage = np.zeros((size, size))
        for pose, shape in zip(scene.poses(frame), scene.parts):
            distance = shape.distance(pose.inverse(grid)) * pose.placement.scale * (size - 1) / 2
            coverage = np.maximum(coverage, np.clip(0.5 - distance, 0, 1))
        changed = np.abs(image - background).max(-1) > 1e-6
        np.testing.assert_array_equal(changed, coverage > 0)
