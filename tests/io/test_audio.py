"""VideoWriter copying the audio of another video (``audio_from``)."""
import numpy as np
import pytest

from cpabmm.io import VideoWriter, has_audio, write_video
from tests.apis.clips import (audio_samples, audio_seconds, captured_log, video_info,
                              write_clip_with_tone)
from tests.datasets.media import astronaut_clip, carphone

AAC_FRAME = 1024 / 44100  # seconds: the granularity of AAC audio


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
