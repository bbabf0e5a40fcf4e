"""Test clips with sound: real frames muxed with a generated tone (PyAV,
independently of the code under test), and audio measurements."""
import io
import logging
from contextlib import contextmanager
from fractions import Fraction
from typing import Iterator, Sequence

import av
import numpy as np

SAMPLE_RATE = 44100


def write_clip_with_tone(path: str, frames: Sequence[np.ndarray], fps: int = 25,
                         audio_codec: str = 'aac', frequency: float = 440.0) -> str:
    """Encode ``frames`` (H.264) with a sine tone lasting exactly as long."""
    samples = int(round(len(frames) / fps * SAMPLE_RATE))
    tone = 0.3 * np.sin(2 * np.pi * frequency * np.arange(samples) / SAMPLE_RATE)
    sample_format = 'fltp' if audio_codec == 'aac' else 's16'
    with av.open(path, mode='w') as container:
        video = container.add_stream('libx264', rate=Fraction(fps), options={'crf': '0'})
        video.height, video.width = frames[0].shape[:2]
        video.pix_fmt = 'yuv444p'
        audio = container.add_stream(audio_codec, rate=SAMPLE_RATE, layout='mono')
        audio.format = sample_format
        chunk, written = 1024, 0
        for start in range(0, samples, chunk):
            block = tone[start:start + chunk][None].astype(np.float32)
            if sample_format == 's16':
                block = (block * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(block, format=sample_format, layout='mono')
            frame.sample_rate, frame.pts = SAMPLE_RATE, start
            frame.time_base = Fraction(1, SAMPLE_RATE)
            for packet in audio.encode(frame):
                container.mux(packet)
            while written < len(frames) and written / fps <= (start + chunk) / SAMPLE_RATE:
                image = av.VideoFrame.from_ndarray(frames[written], format='rgb24')
                for packet in video.encode(image):
                    container.mux(packet)
                written += 1
        for stream in (audio, video):
            for packet in stream.encode():
                container.mux(packet)
    return path


def audio_seconds(path: str) -> float:
    """Decoded duration of the first audio stream (samples / rate)."""
    with av.open(path) as container:
        stream = container.streams.audio[0]
        return sum(frame.samples for frame in container.decode(stream)) / stream.rate


def audio_samples(path: str) -> np.ndarray:
    """All samples of the first channel of the first audio stream, as floats."""
    with av.open(path) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format='flt', layout='mono', rate=stream.rate)
        chunks = [resampled.to_ndarray()[0] for frame in container.decode(stream)
                  for resampled in resampler.resample(frame)]
    return np.concatenate(chunks)


def video_info(path: str) -> dict:
    """Frame count (decoded), size, frame rate and audio streams of a file."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(stream))
        return dict(frames=count, size=(stream.codec_context.height, stream.codec_context.width),
                    fps=float(stream.average_rate), audio=len(container.streams.audio))


@contextmanager
def captured_log() -> Iterator[io.StringIO]:
    """Collect what ``print_log(..., logger='current')`` logs meanwhile."""
    from mmengine.logging import MMLogger, print_log
    print_log('capturing the log', logger='current', level=logging.DEBUG)  # makes one exist
    logger = MMLogger.get_current_instance()
    text = io.StringIO()
    handler = logging.StreamHandler(text)
    logger.addHandler(handler)
    try:
        yield text
    finally:
        logger.removeHandler(handler)
