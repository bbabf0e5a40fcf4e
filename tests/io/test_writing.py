"""VideoWriter: round trips, GIF output, writing only complete files."""
import os

import numpy as np
import pytest

from cpabmm.fileio import WriteError
from cpabmm.io import VideoError, VideoWriter, open_video, write_video
from tests.apis.clips import video_info
from tests.datasets.media import astronaut_clip, carphone


def test_writer_round_trip(tmp_path):
    frames = carphone(10)
    path = str(tmp_path / 'out.mp4')
    write_video(path, frames, fps=30, crf=0)
    video = open_video(path)
    assert video.num_frames == 10 and video.fps == pytest.approx(30)
    assert np.abs(np.stack(list(video)).astype(float) - frames).mean() < 2.0


def test_writer_rejects_odd_size_and_bad_frames(tmp_path):
    with pytest.raises(ValueError, match='use even width and height'):
        with VideoWriter(str(tmp_path / 'a.mp4')) as writer:
            writer.write(np.zeros((33, 32, 3), np.uint8))
    with pytest.raises(ValueError, match=r'frames must be \[H, W, 3\] uint8 RGB'):
        with VideoWriter(str(tmp_path / 'b.mp4')) as writer:
            writer.write(np.zeros((32, 32), np.float32))


def test_gif_round_trip(tmp_path):
    """One palette per frame keeps real frames close (GIF is 8-bit)."""
    frames = carphone(6)
    path = str(tmp_path / 'clip.gif')
    write_video(path, frames, fps=10)
    decoded = np.stack(list(open_video(path)))
    assert decoded.shape == frames.shape
    assert np.abs(decoded.astype(float) - frames).mean() < 4.0
    assert video_info(path)['fps'] == pytest.approx(10)


def test_unknown_extension_fails_before_writing(tmp_path):
    with pytest.raises(VideoError, match=r"out.avi: cannot write video type '.avi'; use one "
                       r'of .mp4, .mov, .mkv, .gif'):
        VideoWriter(str(tmp_path / 'out.avi'))
    assert os.listdir(tmp_path) == []


def test_missing_folder_is_created(tmp_path):
    path = tmp_path / 'a' / 'b' / 'out.mp4'
    write_video(str(path), astronaut_clip(3, 32))
    assert video_info(str(path))['frames'] == 3


def test_failure_leaves_no_file_and_keeps_the_old_one(tmp_path):
    path = tmp_path / 'out.mp4'
    path.write_bytes(b'previous result')
    with pytest.raises(RuntimeError, match='stop'):
        with VideoWriter(str(path)) as writer:
            for frame in astronaut_clip(3, 32):
                writer.write(frame)
            raise RuntimeError('stop')
    assert os.listdir(tmp_path) == ['out.mp4']
    assert path.read_bytes() == b'previous result'


def test_nothing_written_without_frames(tmp_path):
    with VideoWriter(str(tmp_path / 'out.mp4')):
        pass
    assert os.listdir(tmp_path) == []


def test_frames_of_another_size(tmp_path):
    with pytest.raises(ValueError, match=r'frame 1 is 48x48, the video 32x32; give all '
                       'frames one size'):
        with VideoWriter(str(tmp_path / 'out.mp4')) as writer:
            writer.write(astronaut_clip(1, 32)[0])
            writer.write(astronaut_clip(1, 48)[0])
    assert os.listdir(tmp_path) == []


def test_failed_rename_leaves_no_temporary(tmp_path):
    """A finished video that cannot be renamed into place (a folder took
    its name) raises one WriteError naming it; its temporary file goes."""
    (tmp_path / 'out.mp4').mkdir()
    with pytest.raises(WriteError, match=r'^could not write .*out.mp4: Is a directory$'):
        write_video(str(tmp_path / 'out.mp4'), astronaut_clip(3, 32))
    assert os.listdir(tmp_path) == ['out.mp4'] and os.listdir(tmp_path / 'out.mp4') == []


def test_full_disk_while_flushing_leaves_no_temporary(tmp_path, monkeypatch):
    """ENOSPC from fsync (the last step before the rename): WriteError, the
    old file kept, no temporary file."""
    path = tmp_path / 'out.mp4'
    path.write_bytes(b'previous result')

    def fsync(handle):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(os, 'fsync', fsync)
    with pytest.raises(WriteError) as error:
        write_video(str(path), astronaut_clip(3, 32))
    assert str(error.value) == f'could not write {path}: No space left on device'
    assert error.value.errno == 28
    assert os.listdir(tmp_path) == ['out.mp4'] and path.read_bytes() == b'previous result'


def test_finish_then_close(tmp_path):
    """finish() completes the file on disk without publishing it; close()
    publishes; an abort after finish() removes it."""
    kept, dropped = str(tmp_path / 'kept.mp4'), str(tmp_path / 'dropped.mp4')
    writers = [VideoWriter(kept), VideoWriter(dropped)]
    for writer in writers:
        writer.write(astronaut_clip(1, 32)[0])
        writer.finish()
    assert sorted(name for name in os.listdir(tmp_path) if not name.startswith('.')) == []
    with pytest.raises(ValueError, match='the video is finished'):
        writers[0].write(astronaut_clip(1, 32)[0])
    writers[0].close()
    writers[1].abort()
    assert os.listdir(tmp_path) == ['kept.mp4'] and video_info(kept)['frames'] == 1
