"""cpabmm.apis.animate on small random-weight models and real media."""
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from cpabmm.apis import Animation, animate, init_model
from cpabmm.apis.best_frame import (LandmarkDetectorUnavailable, build_face_landmarks,
                                    find_best_frame)
from tests.datasets.media import astronaut, astronaut_clip, carphone, write_folder

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMALL_CONFIGS = {
    name: osp.join(REPO, 'configs', name, f'{name}_k10-small_1xb8-20e_synthetic-64.py')
    for name in ('fomm', 'tpsmm', 'cpabmm')
}


def have_mediapipe() -> bool:
    try:
        build_face_landmarks().close()
    except LandmarkDetectorUnavailable:
        return False
    return True


needs_mediapipe = pytest.mark.skipif(not have_mediapipe(), reason='mediapipe not installed')


@pytest.fixture(scope='module')
def tpsmm():
    torch.manual_seed(0)
    return init_model(SMALL_CONFIGS['tpsmm'])


@pytest.fixture(scope='module')
def fomm():
    torch.manual_seed(0)
    return init_model(SMALL_CONFIGS['fomm'])


@pytest.fixture(scope='module')
def clip():
    return astronaut_clip(5, 64)


def close(a, b, atol=1e-5):
    return torch.allclose(a, b, atol=atol)


# --- the animation loop ---------------------------------------------------------

def test_modes_give_the_documented_targets(tpsmm, clip):
    source = astronaut_clip(1, 64)[0]
    animation = Animation(tpsmm, source, clip[:3], mode='relative')
    kp_source = animation.kp_source['value'][0]
    steps = list(animation)
    # relative: the initial frame moves nothing, so its target is the source's
    assert close(steps[0].kp_target['value'], kp_source)
    assert (steps[2].kp_target['value'] - kp_source).abs().max() > 1e-3
    steps = list(Animation(tpsmm, source, clip[:3], mode='relative', initial_frame=2))
    assert close(steps[2].kp_target['value'], kp_source)
    # standard: the driving keypoints themselves
    for step in Animation(tpsmm, source, clip[:2], mode='standard'):
        assert close(step.kp_target['value'], step.kp_driving['value'])
    (step,) = Animation(tpsmm, source, clip[:1], mode='avd')
    assert step.kp_target['value'].shape == (50, 2)


def test_relative_targets_move_the_source_by_the_scaled_driving_motion(fomm, clip):
    """kp_source + sqrt(hull area ratio) * (kp_driving - kp_initial), the
    hull areas computed here with scipy; Jacobians J_d J_d0^-1 J_s. Batches
    of 2 broadcast the batch-1 source against them."""
    from scipy.spatial import ConvexHull
    animation = Animation(fomm, astronaut(), clip[:4], mode='relative', batch_size=2)
    steps = list(animation)
    source, initial = animation.kp_source, steps[0].kp_driving
    scale = np.sqrt(ConvexHull(source['value'][0].double().numpy()).volume /
                    ConvexHull(initial['value'].double().numpy()).volume)
    for step in steps:
        expected = source['value'][0] + scale * (step.kp_driving['value'] - initial['value'])
        assert close(step.kp_target['value'], expected.float())
        jacobian = (step.kp_driving['jacobian'] @ torch.inverse(initial['jacobian'])
                    @ source['jacobian'][0])
        assert close(step.kp_target['jacobian'], jacobian, atol=1e-4)


def test_frames_are_uint8_of_the_model_size(tpsmm, clip):
    frames = list(animate(tpsmm, astronaut(), clip))
    assert len(frames) == 5
    for frame in frames:
        assert frame.shape == (64, 64, 3) and frame.dtype == np.uint8
    tensors = list(animate(tpsmm, astronaut(), clip, output='tensor'))
    for frame, tensor in zip(frames, tensors):
        assert tensor.shape == (3, 64, 64)
        # uint8 frames are the rounded tensors
        assert np.abs(frame.astype(float) - tensor.permute(1, 2, 0).numpy() * 255).max() <= 0.5


def test_batches_give_the_same_frames(fomm, clip):
    """Batches of 2 over 5 frames (a last batch of 1) match one at a time;
    FOMM's relative mode also moves Jacobians."""
    single = list(animate(fomm, astronaut(), clip, output='tensor'))
    batched = list(animate(fomm, astronaut(), clip, output='tensor', batch_size=2))
    assert len(batched) == 5
    for a, b in zip(single, batched):
        assert (a - b).abs().max() < 1e-4


def test_driving_is_streamed(tpsmm, clip):
    """Each frame is pulled from the driving iterator only when needed."""
    pulled = []

    def frames():
        for index, frame in enumerate(clip):
            pulled.append(index)
            yield frame

    generator = animate(tpsmm, astronaut(), frames())
    assert pulled == []
    next(generator)
    assert pulled == [0]
    assert torch.is_grad_enabled()  # no_grad holds inside the generator only
    next(generator)
    assert pulled == [0, 1]
    generator.close()


def test_initial_frame_equals_animating_forwards_and_backwards(tpsmm):
    """The published best-frame procedure animates frames k.. forwards and
    k..0 backwards, both starting from frame k, and joins them; we animate
    in order with frame k as the initial frame: the same frames."""
    clip, k = astronaut_clip(6, 64), 3
    source = astronaut()
    forward = list(animate(tpsmm, source, clip[k:], output='tensor'))
    backward = list(animate(tpsmm, source, clip[:k + 1][::-1], output='tensor'))
    published = backward[::-1] + forward[1:]
    ours = list(animate(tpsmm, source, clip, initial_frame=k, output='tensor'))
    assert len(ours) == len(published) == 6
    for a, b in zip(ours, published):
        assert (a - b).abs().max() < 1e-5


def test_cpab_motion_animates(clip):
    torch.manual_seed(0)
    model = init_model(SMALL_CONFIGS['cpabmm'])
    frames = list(animate(model, astronaut(), clip[:2], mode='relative'))
    assert len(frames) == 2 and frames[0].shape == (64, 64, 3)


def test_any_source_and_driving_form(tpsmm, tmp_path):
    """Grayscale, RGBA, PIL, other sizes and aspect ratios, files, folders,
    tensors and a still image as the driving video."""
    portrait = astronaut()
    rgba = np.dstack([portrait, np.full(portrait.shape[:2], 128, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / 'rgba.png')
    clip = carphone(2)  # 176x144
    Image.fromarray(clip[0]).save(tmp_path / 'pose.jpg')
    cases = [  # (source, driving, frames)
        (portrait[:, :, 0], clip, 2),
        (rgba, list(clip), 2),
        (Image.fromarray(portrait[50:400]), torch.rand(2, 3, 64, 64), 2),
        (str(tmp_path / 'rgba.png'), write_folder(str(tmp_path / 'frames'), clip), 2),
        (torch.rand(1, 3, 100, 70), str(tmp_path / 'pose.jpg'), 1),
    ]
    for source, driving, count in cases:
        frames = list(animate(tpsmm, source, driving, mode='standard'))
        assert len(frames) == count and frames[0].shape == (64, 64, 3)


def test_size_of_models_without_a_fixed_one():
    torch.manual_seed(0)
    model = init_model(SMALL_CONFIGS['tpsmm'], cfg_options={'model.image_size': None})
    (frame,) = animate(model, astronaut(), astronaut_clip(1, 64), size=(96, 128))
    assert frame.shape == (96, 128, 3)
    with pytest.raises(ValueError, match=r'image size \(90, 128\) does not fit this model: '
                       'give height and width, multiples of'):
        animate(model, astronaut(), astronaut_clip(1, 64), size=(90, 128))


def test_bad_arguments_fail_when_called(tpsmm, fomm, clip):
    source = astronaut()
    with pytest.raises(ValueError, match="mode must be one of .*, got 'absolute'"):
        animate(tpsmm, source, clip, mode='absolute')
    with pytest.raises(ValueError, match="output must be one of .*, got 'pil'"):
        animate(tpsmm, source, clip, output='pil')
    with pytest.raises(ValueError, match='this model has no AVD network'):
        animate(fomm, source, clip, mode='avd')
    with pytest.raises(ValueError, match='this model takes 64x64 images, not 128x128'):
        animate(tpsmm, source, clip, size=128)
    with pytest.raises(ValueError, match='the driving video has no frames'):
        animate(tpsmm, source, [])
    with pytest.raises(ValueError, match='find_best_frame reads the driving video twice'):
        animate(tpsmm, source, iter(clip), find_best_frame=True)
    with pytest.raises(ValueError, match=r'initial frame 5 is not a frame of the driving '
                       r'video \(5 frames\)'):
        animate(tpsmm, source, clip, initial_frame=5)
    with pytest.raises(ValueError, match='an initial frame other than 0 is read ahead'):
        animate(tpsmm, source, iter(clip), initial_frame=1)
    with pytest.raises(ValueError, match=r'images must be \[H, W\] or \[H, W, C\]'):
        animate(tpsmm, np.zeros((4, 4, 2)), clip)
    tpsmm.train()
    try:
        with pytest.raises(ValueError, match=r'training mode; call model.eval\(\) first'):
            animate(tpsmm, source, clip)
    finally:
        tpsmm.eval()


# --- best frame -----------------------------------------------------------------

@needs_mediapipe
@pytest.mark.parametrize('k', [10, 60, 100])
def test_best_frame_finds_the_pose_of_a_zoomed_copy(k):
    """The source is frame k of the talking-head clip cropped and enlarged:
    position and scale do not count, so frame k (or a neighbour with the
    same pose) is found."""
    import cv2
    frames = carphone(120)
    source = cv2.resize(frames[k][10:130, 20:160], (280, 240), interpolation=cv2.INTER_CUBIC)
    detector = build_face_landmarks()
    try:
        best = find_best_frame(source, iter(frames), detector)
    finally:
        detector.close()
    assert abs(best - k) <= 2


@needs_mediapipe
def test_best_frame_search_sets_the_initial_frame(tpsmm):
    frames = carphone(30)
    animation = Animation(tpsmm, frames[20], frames)
    counted = []
    assert abs(animation.search_initial_frame(progress=counted.append) - 20) <= 2
    assert animation.initial_frame == animation.search_initial_frame()
    assert len(counted) == 30


@needs_mediapipe
def test_best_frame_needs_a_face_in_the_source(tpsmm):
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match='no face found in the source image'):
        list(animate(tpsmm, noise, carphone(2), find_best_frame=True))


def test_best_frame_without_mediapipe(tpsmm, clip, monkeypatch):
    monkeypatch.setitem(sys.modules, 'mediapipe', None)  # makes the import fail
    with pytest.raises(LandmarkDetectorUnavailable, match='finding the best frame needs a '
                       'face landmark detector; .*pip install'):
        animate(tpsmm, astronaut(), clip, find_best_frame=True)
