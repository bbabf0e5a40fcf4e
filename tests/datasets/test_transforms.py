"""Frame-pair transforms: geometry moves keypoints with the pixels; jitter matches torchvision."""
import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF

from cpabmm.datasets.transforms import (ColorJitter, PackFramePair, RandomCropFrames,
                                        RandomHorizontalFlip, RandomResizeFrames,
                                        RandomTimeFlip, ResizeFrames)
from cpabmm.registry import TRANSFORMS
from tests.datasets.media import astronaut, astronaut_clip


def marked_pair(height=48, width=64, points=((10, 7), (50, 30), (33, 41))):
    """Frames that are dark except bright 3x3 dots at ``points`` (pixel x, y),
    with the dots' normalised coordinates as keypoints."""
    frames = []
    for shift in (0, 3):
        frame = np.zeros((height, width, 3), np.float32)
        for x, y in points:
            frame[y + shift - 1:y + shift + 2, x - 1:x + 2] = 1.0
        frames.append(frame)
    kps = [np.array([[2 * x / (width - 1) - 1, 2 * (y + s) / (height - 1) - 1]
                     for x, y in points], np.float32) for s in (0, 3)]
    return dict(source=frames[0], driving=frames[1], kp_source=kps[0], kp_driving=kps[1],
                source_index=0, driving_index=5)


def dot_centres(frame, kp):
    """Intensity-weighted centre (normalised coordinates) of the dot nearest each keypoint."""
    height, width = frame.shape[:2]
    gray = frame.mean(axis=2)
    ys, xs = np.mgrid[0:height, 0:width]
    centres = []
    for x, y in kp:
        px, py = (x + 1) * (width - 1) / 2, (y + 1) * (height - 1) / 2
        near = (np.abs(xs - px) <= 4) & (np.abs(ys - py) <= 4)
        weight = gray * near
        cx, cy = (weight * xs).sum() / weight.sum(), (weight * ys).sum() / weight.sum()
        centres.append([2 * cx / (width - 1) - 1, 2 * cy / (height - 1) - 1])
    return np.array(centres)


def assert_keypoints_on_dots(results, pixel_tolerance=0.35):
    """Every keypoint whose dot lies fully in the frame sits on the dot's centre."""
    for frame_key, kp_key in (('source', 'kp_source'), ('driving', 'kp_driving')):
        frame, kp = results[frame_key], results[kp_key]
        height, width = frame.shape[:2]
        half_size = np.array([width - 1, height - 1]) / 2
        pixels = (kp + 1) * half_size
        inside = np.all((pixels >= 3) & (pixels <= 2 * half_size - 3), axis=1)
        assert inside.any()
        error = (dot_centres(frame, kp[inside]) - kp[inside]) * half_size
        assert np.abs(error).max() < pixel_tolerance, (frame_key, error)


GEOMETRIC = [
    RandomHorizontalFlip(prob=1.0),
    ResizeFrames(size=(96, 80)),
    ResizeFrames(size=(36, 40)),
    RandomResizeFrames(ratio=(0.8, 1.25)),
    RandomCropFrames(size=(40, 40)),
    RandomCropFrames(size=(60, 70)),  # larger than the frame: padded
]


@pytest.mark.parametrize('transform', GEOMETRIC, ids=repr)
def test_keypoints_follow_the_pixels(transform):
    np.random.seed(1)
    results = marked_pair()
    assert_keypoints_on_dots(results)
    out = transform(marked_pair())
    assert out['source'].shape == out['driving'].shape
    assert_keypoints_on_dots(out)


def test_same_geometry_for_both_frames():
    np.random.seed(0)
    clip = astronaut_clip(1, 64)[0]
    for transform in GEOMETRIC:
        out = transform(dict(source=clip, driving=clip.copy()))
        np.testing.assert_array_equal(out['source'], out['driving'])


def test_horizontal_flip_mirrors():
    frame = astronaut_clip(1, 32)[0]
    out = RandomHorizontalFlip(prob=1.0)(dict(source=frame, driving=frame))
    np.testing.assert_array_equal(out['source'], frame[:, ::-1])
    assert RandomHorizontalFlip(prob=0.0)(dict(source=frame))['source'] is frame


def test_time_flip_swaps_everything_per_frame():
    results = marked_pair()
    expected = {k: results[k] for k in ('source', 'driving', 'kp_source', 'kp_driving')}
    out = RandomTimeFlip(prob=1.0)(dict(results, kp_source_visible=np.array([True]),
                                        kp_driving_visible=np.array([False])))
    assert out['source'] is expected['driving'] and out['driving'] is expected['source']
    assert out['kp_source'] is expected['kp_driving']
    assert (out['source_index'], out['driving_index']) == (5, 0)
    assert not out['kp_source_visible'][0] and out['kp_driving_visible'][0]
    np.random.seed(0)
    flips = sum(RandomTimeFlip()(dict(source_index=0, driving_index=1))['source_index']
                for _ in range(400))
    assert 160 < flips < 240


def torchvision_jitter(image, draws):
    tensor = torch.from_numpy(image).permute(2, 0, 1)
    apply = {'brightness': TF.adjust_brightness, 'contrast': TF.adjust_contrast,
             'saturation': TF.adjust_saturation, 'hue': TF.adjust_hue}
    for name, value in draws.items():
        tensor = apply[name](tensor, value)
    return tensor.permute(1, 2, 0).numpy()


@pytest.mark.parametrize('seed', range(4))
def test_color_jitter_matches_torchvision(seed):
    """Same draws, same order: our numpy/OpenCV jitter equals torchvision's functional ops."""
    image = astronaut()[::8, ::8].astype(np.float32) / 255
    jitter = ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.2)
    np.random.seed(seed)
    draws = jitter._draw()
    np.random.seed(seed)
    out = jitter(dict(source=(image * 255).round().astype(np.uint8), driving=image))
    reference = torchvision_jitter(image, draws)
    assert out['source'].dtype == np.float32
    np.testing.assert_allclose(out['driving'], reference, atol=2e-3)
    np.testing.assert_allclose(out['source'], reference, atol=2e-3)


def test_color_jitter_arguments():
    with pytest.raises(ValueError, match='hue must lie in'):
        ColorJitter(hue=0.7)
    with pytest.raises(ValueError, match='brightness must lie in'):
        ColorJitter(brightness=-0.1)


def test_pack_and_registry():
    pipeline = [TRANSFORMS.build(dict(type=name)) for name in ('RandomTimeFlip', 'PackFramePair')]
    results = marked_pair()
    results['source'] = (results['source'] * 255).astype(np.uint8)
    for transform in pipeline:
        results = transform(results)
    assert results['source'].shape == (3, 48, 64) and results['source'].dtype == torch.float32
    assert results['source'].max() == 1.0 and results['driving'].max() == 1.0
    assert results['kp_source'].dtype == torch.float32
    with pytest.raises(ValueError, match=r'source frame must be \[H, W, 3\]'):
        PackFramePair()(dict(source=np.zeros((4, 4), np.uint8)))
