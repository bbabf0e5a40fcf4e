"""VideoWriter: GIF output, writing only complete files, copying audio."""
import os

import numpy as np
import pytest

from cpabmm.video import VideoError, VideoWriter, has_audio, open_video, write_video
from tests.apis.clips import (audio_samples, audio_seconds, captured_log, video_info,
                              write_clip_with_tone)
from tests.datasets.media import astronaut_clip, carphone

AAC_FRAME = 1024 / 44100  # seconds: the granularity of AAC audio


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


@pytest.mark.parametrize('container,codec,reencoded', [('mp4', 'aac', False),
                                                      ('mkv', 'pcm_s16le', False),
                                                      ('mov', 'pcm_s16le', True)])
def test_audio_is_copied(tmp_path, container, codec, reencoded):
    """AAC is remuxed, PCM kept in mkv and re-encoded to AAC for mov; the
    copy lasts as long as the source audio and keeps the tone."""
    frames = carphone(20)
    source = write_clip_with_tone(str(tmp_path / f'driving.{container}'), frames,
                                  audio_codec=codec)
    assert has_audio(source)
    out = str(tmp_path / f'out.{container}')
    with VideoWriter(out, fps=25, audio_from=source) as writer:
        for frame in frames:
            writer.write(frame)
        assert writer.copies_audio and writer._audio.reencodes == reencoded
    info = video_info(out)
    assert info['frames'] == 20 and info['audio'] == 1
    assert audio_seconds(out) == pytest.approx(audio_seconds(source), abs=AAC_FRAME)
    assert abs(audio_seconds(out) - 20 / 25) <= 2 * AAC_FRAME
    # the same 440 Hz tone: compare the dominant frequency of the copy
    samples = audio_samples(out)
    spectrum = np.abs(np.fft.rfft(samples))
    peak = np.argmax(spectrum) * 44100 / len(samples)
    assert peak == pytest.approx(440, abs=5)


def test_gif_drops_audio_with_a_message(tmp_path):
    frames = carphone(5)
    source = write_clip_with_tone(str(tmp_path / 'driving.mp4'), frames)
    out = str(tmp_path / 'out.gif')
    with captured_log() as log, VideoWriter(out, fps=25, audio_from=source) as writer:
        for frame in frames:
            writer.write(frame)
        assert not writer.copies_audio
    assert 'GIF files hold no audio' in log.getvalue()
    assert video_info(out)['frames'] == 5


def test_sources_without_audio(tmp_path):
    path = str(tmp_path / 'silent.mp4')
    write_video(path, astronaut_clip(2, 32))
    assert not has_audio(path)
    assert not has_audio(str(tmp_path))
    out = str(tmp_path / 'out.mp4')
    write_video(out, astronaut_clip(2, 32), audio_from=path)
    assert video_info(out)['audio'] == 0
