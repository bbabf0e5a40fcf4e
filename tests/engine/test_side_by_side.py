"""SideBySideRecorder: source | driving | prediction videos of the best and
worst videos, nothing left behind on errors."""
import os

import av
import numpy as np
import pytest
import torch

from cpabmm.engine import SideBySideRecorder

SIZE, FRAMES = 32, 3
COLOURS = {'source': (1.0, 0.0, 0.0), 'driving': (0.0, 1.0, 0.0), 'prediction': (0.0, 0.0, 1.0)}


def frame(colour, brightness=1.0):
    return (torch.tensor(colour) * brightness).view(3, 1, 1).expand(3, SIZE, SIZE).clone()


def sample(video_id, index, brightness=1.0):
    return dict(video_id=video_id, driving_index=index,
                **{key: frame(colour, brightness) for key, colour in COLOURS.items()})


def decode(path):
    with av.open(str(path)) as container:
        return [f.to_ndarray(format='rgb24') for f in container.decode(video=0)]


def test_keeps_the_best_and_worst_by_the_metric(tmp_path):
    scores = {'a': {'L1': 0.3}, 'b': {'L1': 0.1}, 'c': {'L1': 0.2}}
    with SideBySideRecorder(str(tmp_path), count=1) as recorder:
        for video_id in scores:
            for index in range(FRAMES):
                recorder.add(sample(video_id, index))
        kept = recorder.finish(scores, 'L1')
    assert sorted(os.listdir(tmp_path)) == ['best_1_b.mp4', 'worst_1_a.mp4']
    assert sorted(map(os.path.basename, kept)) == sorted(os.listdir(tmp_path))
    frames = decode(tmp_path / 'best_1_b.mp4')
    assert len(frames) == FRAMES and frames[0].shape == (SIZE, 3 * SIZE, 3)
    panels = frames[1].reshape(SIZE, 3, SIZE, 3).mean(axis=(0, 2)) / 255
    np.testing.assert_allclose(panels, np.array(list(COLOURS.values())), atol=0.05)


def test_a_video_can_be_best_and_worst(tmp_path):
    with SideBySideRecorder(str(tmp_path), count=2) as recorder:
        for index in range(FRAMES):
            recorder.add(sample('only', index))
        recorder.finish({'only': {'PSNR': 30.0}}, 'PSNR')
    assert sorted(os.listdir(tmp_path)) == ['best_1_only.mp4', 'worst_1_only.mp4']


def test_interleaved_videos_fail_and_leave_nothing(tmp_path):
    with pytest.raises(ValueError, match="frames of 'a' arrived after another video"):
        with SideBySideRecorder(str(tmp_path), count=1) as recorder:
            recorder.add(sample('a', 0))
            recorder.add(sample('b', 0))
            recorder.add(sample('a', 1))
    assert os.listdir(tmp_path) == []


def test_count_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match='at least 1'):
        SideBySideRecorder(str(tmp_path), count=0)
