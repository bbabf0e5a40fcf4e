"""Metrics per tercile of the ground-truth motion."""
import numpy as np
import pytest
import torch

from cpabmm.evaluation import MotionMagnitudeBreakdown, quantile_bins
from .helpers import sample
from .test_motion_error import identity_flow


def shifted_frame(shift_px: float, brightness: float, size: int = 65) -> dict:
    """A frame whose 4 keypoints moved ``shift_px`` pixels along y, predicted
    with no motion (identity flow) and an L1 error of ``brightness``."""
    kp_source = torch.tensor([[-0.5, 0.2], [0.1, -0.7], [0.6, 0.6], [0.0, 0.0]])
    kp_driving = kp_source + torch.tensor([0.0, shift_px * 2 / (size - 1)])
    driving = torch.full((3, size, size), 0.25)
    return sample('v', int(shift_px), driving + brightness, driving, flow=identity_flow(9, 9),
                  kp_source=kp_source, kp_driving=kp_driving)


def evaluate(metric, samples) -> dict:
    metric.process(None, samples)
    return metric.evaluate(len(samples))


def test_terciles_average_each_metric_over_their_frames():
    # shifts 1..6 px, given out of order; the identity flow's motion error is the shift
    shifts = [4.0, 1.0, 6.0, 2.0, 5.0, 3.0]
    samples = [shifted_frame(s, brightness=s / 100) for s in shifts]
    result = evaluate(MotionMagnitudeBreakdown(metrics=[dict(type='MotionError'),
                                                        dict(type='L1')]), samples)
    for name, (low, high) in zip(('small', 'medium', 'large'), ((1, 2), (3, 4), (5, 6))):
        assert result[f'{name}/frames'] == 2
        assert result[f'{name}/motion_px_min'] == pytest.approx(low, abs=1e-4)
        assert result[f'{name}/motion_px_max'] == pytest.approx(high, abs=1e-4)
        assert result[f'{name}/MotionError'] == pytest.approx((low + high) / 2, abs=1e-4)
        assert result[f'{name}/L1'] == pytest.approx((low + high) / 200, abs=1e-6)


def test_frames_without_visible_keypoints_are_left_out():
    samples = [shifted_frame(s, 0.0) for s in (1.0, 2.0, 3.0, 4.0)]
    samples[3]['kp_source_visible'] = torch.zeros(4, dtype=torch.bool)
    result = evaluate(MotionMagnitudeBreakdown(metrics=[dict(type='MotionError')]), samples)
    assert sum(result[f'{name}/frames'] for name in ('small', 'medium', 'large')) == 3
    assert result['large/motion_px_max'] == pytest.approx(3.0, abs=1e-4)


def test_quantile_bins_have_equal_counts():
    values = np.random.default_rng(0).exponential(size=300)
    bins = quantile_bins(values, 4)
    assert np.bincount(bins).tolist() == [75, 75, 75, 75]
    assert all(values[bins == i].max() <= values[bins == i + 1].min() for i in range(3))


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match='bins must be at least 2'):
        MotionMagnitudeBreakdown(bins=1)
    with pytest.raises(TypeError, match='no per-frame metric'):
        MotionMagnitudeBreakdown(metrics=[dict(type='MotionMagnitudeBreakdown')])
    metric = MotionMagnitudeBreakdown()
    with pytest.raises(ValueError, match='cannot fill 3 bins'):
        evaluate(metric, [shifted_frame(1.0, 0.0)])
