"""Motion error: the predicted backward flow at the driving keypoints against
the source keypoints, in pixels."""
import numpy as np
import pytest
import torch
from scipy.ndimage import map_coordinates

from cpabmm.evaluation import MotionError, sample_flow
from .helpers import sample


def identity_flow(height: int, width: int) -> torch.Tensor:
    """``[h, w, 2]``: every location maps to itself (align_corners=True)."""
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, height),
                            torch.linspace(-1, 1, width), indexing='ij')
    return torch.stack([xs, ys], dim=-1)


def synthetic_sample(flow, kp_source, kp_driving, size=65):
    frame = torch.zeros(3, size, size)
    return sample('v', 0, frame, frame, flow=flow, kp_source=kp_source,
                  kp_driving=kp_driving)


def run(samples) -> dict:
    metric = MotionError()
    metric.process(None, samples)
    return metric.evaluate(len(samples))


def test_identity_flow_on_a_known_displacement():
    """The identity flow predicts no motion, so the error is the true
    displacement: 3 px along x and 4 px along y is 5 px on a 65x65 frame
    ([-1, 1] spans 64 pixels)."""
    kp_source = torch.tensor([[-0.5, 0.2], [0.1, -0.7], [0.6, 0.6]])
    kp_driving = kp_source + torch.tensor([3.0, 4.0]) * 2 / 64
    result = run([synthetic_sample(identity_flow(17, 17), kp_source, kp_driving)])
    assert result == {'MotionError': pytest.approx(5.0, abs=1e-5)}


def test_exact_affine_flow_has_no_error_off_the_grid():
    """Bilinear sampling reproduces an affine flow exactly, also at points
    between grid nodes and on a flow coarser than the frame."""
    a = torch.tensor([[0.9, -0.2], [0.15, 1.1]])
    b = torch.tensor([0.05, -0.1])
    flow = identity_flow(9, 13) @ a.T + b
    kp_driving = torch.tensor([[0.33, -0.41], [-0.77, 0.12], [0.5, 0.9]])
    kp_source = kp_driving @ a.T + b
    assert run([synthetic_sample(flow, kp_source, kp_driving)])['MotionError'] == \
        pytest.approx(0.0, abs=1e-6)


def test_sampling_matches_scipy_bilinear_interpolation():
    generator = torch.Generator().manual_seed(0)
    flow = torch.rand(7, 11, 2, generator=generator) * 2 - 1
    points = torch.rand(20, 2, generator=generator) * 2 - 1
    rows = (points[:, 1] + 1) / 2 * 6    # align_corners=True pixel coordinates
    cols = (points[:, 0] + 1) / 2 * 10
    expected = np.stack([
        map_coordinates(flow[..., c].double().numpy(), [rows.numpy(), cols.numpy()], order=1)
        for c in range(2)], axis=1)
    assert np.allclose(sample_flow(flow, points).numpy(), expected, atol=1e-6)


def test_pixels_follow_the_frame_size_per_axis():
    kp_source = torch.zeros(1, 2)
    kp_driving = torch.tensor([[0.5, 0.5]])
    frame = torch.zeros(3, 33, 129)   # (W - 1) / 2 = 64 px, (H - 1) / 2 = 16 px
    result = run([sample('v', 0, frame, frame, flow=identity_flow(5, 5),
                         kp_source=kp_source, kp_driving=kp_driving)])
    assert result['MotionError'] == pytest.approx(np.hypot(32, 8), abs=1e-5)


@pytest.mark.parametrize('change,message', [
    (lambda s: s.pop('flow'), "no 'flow'"),
    (lambda s: s.pop('kp_source'), "no 'kp_source'"),
    (lambda s: s.update(flow=torch.zeros(2, 5, 5)), r'\[h, w, 2\]'),
    (lambda s: s.update(kp_driving=torch.zeros(4)), r'\[P, 2\]'),
    (lambda s: s.update(kp_driving=torch.zeros(2, 2)), 'differ in shape'),
])
def test_bad_inputs_are_one_line_errors(change, message):
    bad = synthetic_sample(identity_flow(5, 5), torch.zeros(3, 2), torch.zeros(3, 2))
    change(bad)
    with pytest.raises(ValueError, match=message) as error:
        MotionError().process(None, [bad])
    assert '\n' not in str(error.value)


def test_only_points_visible_in_both_frames_count():
    kp_source = torch.zeros(3, 2)
    kp_driving = torch.tensor([[0.0, 0.0], [0.5, 0.0], [0.0, 0.5]])  # errors 0, 16, 16 px
    flow = identity_flow(5, 5)
    visible = dict(kp_source_visible=torch.tensor([True, True, False]),
                   kp_driving_visible=torch.tensor([True, False, True]))
    metric = MotionError()
    metric.process(None, [
        synthetic_sample(flow, kp_source, kp_driving) | visible,
        synthetic_sample(flow, kp_source, kp_driving) | dict(
            kp_source_visible=torch.zeros(3, dtype=torch.bool))])
    assert metric.evaluate(2) == {'MotionError': 0.0}   # point 0 only; frame 2 skipped
    assert metric.per_video['v'] == {'frames': 2, 'MotionError': 0.0}
    everything = run([synthetic_sample(flow, kp_source, kp_driving)])
    assert everything['MotionError'] == pytest.approx(32 / 3, abs=1e-5)
    with pytest.raises(ValueError, match=r'bool tensor \[3\]'):
        run([synthetic_sample(flow, kp_source, kp_driving) | dict(
            kp_driving_visible=torch.ones(2, dtype=torch.bool))])


def test_image_animator_layout_with_metainfo():
    """``ImageAnimator.predict`` returns its predicted keypoints at the top
    level and the dataset's fields (ground truth included) in ``metainfo``."""
    kp_source = torch.tensor([[-0.5, 0.2], [0.1, -0.7]])
    kp_driving = kp_source + torch.tensor([3.0, 4.0]) * 2 / 64
    frame = torch.zeros(3, 65, 65)
    predicted = {'value': torch.zeros(2, 2)}
    output = dict(prediction=frame, driving=frame, flow=identity_flow(9, 9),
                  kp_source=predicted, kp_driving=predicted,
                  metainfo=dict(video_id='clip', driving_index=0, num_frames=1,
                                kp_source=kp_source, kp_driving=kp_driving,
                                kp_source_visible=torch.tensor([True, True]),
                                kp_driving_visible=torch.tensor([True, True])))
    metric = MotionError()
    metric.process(None, [output])
    assert metric.evaluate(1) == {'MotionError': pytest.approx(5.0, abs=1e-5)}
    assert list(metric.per_video) == ['clip']
    flat = {k: v for k, v in output.items() if k != 'metainfo'} | dict(video_id='clip')
    with pytest.raises(ValueError, match=r"'kp_source' must be a tensor \[P, 2\].*got dict"):
        MotionError().process(None, [flat])
