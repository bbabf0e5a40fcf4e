"""tools/crop_video.py and the face-crop steps behind it, on the carphone clip."""
import os
import os.path as osp
import random
import subprocess
import sys

import cv2
import numpy as np
import pytest

from cpabmm.datasets.face_crop import (Crop, DetectorUnavailable, box_iou,
                                       build_face_detector, hold_out, plan_crops, write_clips)
from cpabmm.io import open_video
from cpabmm.utils.environment import child_environment
from tests.datasets.media import carphone, carphone_path, make_video
from tests.tools.loading import load_tool

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'crop_video.py')


def detector_available() -> bool:
    try:
        build_face_detector('auto')
    except DetectorUnavailable:
        return False
    return True


HAVE_DETECTOR = detector_available()
needs_detector = pytest.mark.skipif(not HAVE_DETECTOR, reason='no face detector installed')


def run_tool(*args):
    """Run the tool as a user would, with this checkout first on the path."""
    return subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True,
                          env=child_environment(REPO), timeout=300)


# --- planning crops -------------------------------------------------------------

def test_steady_face_gives_one_covering_square():
    rng = np.random.default_rng(0)
    boxes = [(50 + rng.uniform(-3, 3), 30 + rng.uniform(-3, 3), 60, 60) for _ in range(40)]
    (crop,) = plan_crops(boxes, (144, 176), increase=0.1)
    assert (crop.start, crop.end) == (0, 40)
    for x, y, w, h in boxes:  # every face lies inside the one crop
        assert crop.x <= x and x + w <= crop.x + crop.side
        assert crop.y <= y and y + h <= crop.y + crop.side
    assert crop.side <= 144


def test_face_jump_splits_and_short_segments_drop():
    boxes = [(10, 10, 40, 40)] * 30 + [(120, 90, 40, 40)] * 20 + [(10, 10, 40, 40)] * 5
    crops = plan_crops(boxes, (144, 176), min_frames=10)
    assert [(c.start, c.end) for c in crops] == [(0, 30), (30, 50)]
    assert box_iou(boxes[0], boxes[30]) == 0


def test_gaps_without_a_face():
    face = (40, 30, 50, 50)
    short_gap = [face] * 20 + [None] * 3 + [face] * 20
    assert [(c.start, c.end) for c in plan_crops(short_gap, (144, 176))] == [(0, 43)]
    long_gap = [face] * 20 + [None] * 10 + [face] * 20
    assert [(c.start, c.end) for c in plan_crops(long_gap, (144, 176))] == [(0, 20), (30, 50)]
    assert plan_crops([None] * 50, (144, 176)) == []


def test_crop_is_shifted_into_the_frame():
    (crop,) = plan_crops([(150, 100, 40, 40)] * 20, (144, 176), increase=0.2)
    assert crop.x + crop.side <= 176 and crop.y + crop.side <= 144 and crop.side == 56


def test_write_clips_cuts_and_resizes(tmp_path):
    source = open_video(carphone_path())
    crops = [Crop(10, 30, 40, 20, 96), Crop(25, 40, 0, 0, 144)]
    paths = write_clips(source, crops, str(tmp_path), size=128)
    assert [osp.basename(p) for p in paths] == ['carphone_pristine#000010#000030.mp4',
                                                'carphone_pristine#000025#000040.mp4']
    frames = carphone(40)
    for crop, path in zip(crops, paths):
        clip = open_video(path)
        assert clip.num_frames == crop.num_frames and clip.frame_size == (128, 128)
        assert clip.fps == pytest.approx(source.fps)
        for offset, frame in enumerate(clip):
            patch = frames[crop.start + offset, crop.y:crop.y + crop.side,
                           crop.x:crop.x + crop.side]
            expected = cv2.resize(patch, (128, 128), interpolation=cv2.INTER_LINEAR)
            assert np.abs(frame.astype(float) - expected).mean() < 4  # codec and filter


def test_write_clips_leaves_nothing_when_interrupted(tmp_path):
    """A failure while streaming publishes no clip, not even a finished one."""
    source = open_video(carphone_path())
    calls = []

    def fail_at_frame_12(count):
        calls.append(count)
        if len(calls) == 12:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_clips(source, [Crop(0, 5, 0, 0, 96), Crop(5, 30, 0, 0, 96)], str(tmp_path),
                    size=64, progress=fail_at_frame_12)
    assert os.listdir(tmp_path) == []  # hidden temporary files included

# --- the command line -------------------------------------------------------------

@pytest.mark.skipif(HAVE_DETECTOR, reason='a face detector is installed')
def test_no_detector_says_so_in_one_line():
    result = run_tool(carphone_path(), '--out-dir', 'unused')
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: no face detector available (haar: ')
    assert 'mediapipe: ' in lines[0]


def test_missing_cascade_file(tmp_path):
    tool = load_tool('crop_video')
    assert tool.main([carphone_path(), '--detector', 'haar', '--cascade',
                      str(tmp_path / 'none.xml'), '--out-dir', str(tmp_path)]) == 2


def test_bad_input_video(tmp_path, capsys):
    bad = tmp_path / 'broken.mp4'
    bad.write_bytes(random.Random(0).randbytes(2000))  # bytes the demuxer rejects
    assert load_tool('crop_video').main([str(bad), '--out-dir', str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'broken.mp4: unreadable video' in err[0]


@needs_detector
def test_finds_the_carphone_face(tmp_path, capsys):
    assert load_tool('crop_video').main([carphone_path(), '--out-dir', str(tmp_path), '--size', '128']) == 0
    clips = sorted(os.listdir(tmp_path))
    assert clips and all(c.startswith('carphone_pristine#') for c in clips)
    clip = open_video(str(tmp_path / clips[0]))
    assert clip.frame_size == (128, 128) and clip.num_frames >= 16
    # the speaker's face (rows 30-100, columns 45-115 of the 176x144 frame) fills the crop
    line = capsys.readouterr().out.strip().splitlines()[0]
    x, y = (int(v) for v in line.split('at (')[1].rstrip(')').split(', '))
    side = int(line.split('crop ')[1].split('px')[0])
    assert x <= 55 and y <= 40 and x + side >= 105 and y + side >= 90 and side <= 144


def test_hold_out_splits_each_clip_by_frame_range_with_its_square():
    train, test = hold_out([Crop(10, 110, 5, 6, 70), Crop(200, 201, 0, 0, 50)], 0.25)
    assert train == [Crop(10, 85, 5, 6, 70)] and test == [Crop(85, 110, 5, 6, 70)]
    with pytest.raises(ValueError, match='between 0 and 1'):
        hold_out([], 1.0)


@needs_detector
def test_holdout_writes_disjoint_train_and_test_clips_of_one_crop(tmp_path, capsys):
    crop = load_tool('crop_video').main
    assert crop([carphone_path(), '--out-dir', str(tmp_path / 'all'), '--size', '64']) == 0
    assert crop([carphone_path(), '--out-dir', str(tmp_path / 'split'), '--size', '64',
                 '--holdout', '0.25']) == 0
    [whole] = os.listdir(tmp_path / 'all')
    start, end = (int(v) for v in osp.splitext(whole)[0].split('#')[1:])
    cut = start + round((end - start) * 0.75)
    train, test = (os.listdir(tmp_path / 'split' / part) for part in ('train', 'test'))
    assert train == [f'carphone_pristine#{start:06d}#{cut:06d}.mp4']
    assert test == [f'carphone_pristine#{cut:06d}#{end:06d}.mp4']
    frames = list(open_video(str(tmp_path / 'all' / whole)))
    held_out = list(open_video(str(tmp_path / 'split' / 'test' / test[0])))
    assert len(held_out) == end - cut
    # the same picture up to the codec: its closest frame of the whole clip is frame `cut`
    distances = [np.abs(held_out[0].astype(float) - f).mean() for f in frames]
    assert int(np.argmin(distances)) == cut - start and distances[cut - start] < 4


def test_holdout_out_of_range_is_a_usage_error():
    result = run_tool(carphone_path(), '--holdout', '1.5')
    assert result.returncode == 2 and '--holdout must lie between 0 and 1' in result.stderr


@needs_detector
def test_no_face_found(tmp_path, capsys):
    from cpabmm.datasets.synthetic import SyntheticScene
    scene = SyntheticScene(np.random.default_rng(0), 20)
    frames = [(scene.render(i, 96) * 255).astype(np.uint8) for i in range(20)]
    video = make_video(str(tmp_path), 'noface', 'mp4', frames)
    assert load_tool('crop_video').main([video, '--out-dir', str(tmp_path / 'out')]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith('error: ') and 'noface.mp4: no face segment of 16+ frames' in err


@needs_detector
def test_a_16_bit_frame_folder_is_cropped_like_its_8_bit_frames(tmp_path, capsys):
    """16-bit PNG frames are read as floats in [0, 1]; detection and the clips
    see the same 8-bit pictures as the 8-bit folder gives."""
    frames = carphone(24)
    for bits, dtype, scale in ((8, np.uint8, 1), (16, np.uint16, 257)):
        folder = tmp_path / f'frames{bits}'
        folder.mkdir()
        for index, frame in enumerate(frames):
            pixels = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR).astype(dtype) * scale
            cv2.imwrite(str(folder / f'{index:03d}.png'), pixels)
        assert load_tool('crop_video').main([str(folder), '--out-dir', str(tmp_path / f'out{bits}'),
                                             '--size', '64', '--min-frames', '8']) == 0
    report8, report16 = (line.split(':', 1)[1]  # the same frames and crop square
                         for line in capsys.readouterr().out.strip().splitlines())
    assert report8 == report16
    clips8, clips16 = (sorted(os.listdir(tmp_path / f'out{bits}')) for bits in (8, 16))
    assert len(clips8) == len(clips16) >= 1
    first8, first16 = (np.stack(list(open_video(str(tmp_path / f'out{bits}' / clips[0]))))
                       for bits, clips in ((8, clips8), (16, clips16)))
    # the same pictures (H.264 encodes them a little differently from run to run)
    assert first8.shape == first16.shape and first16.dtype == np.uint8
    assert abs(first8.mean() - first16.mean()) < 1
