"""The demo's speed and memory (``tools/benchmark.py demo``).

* :func:`demo_speed`: frames per second of the demo loop (read a driving
  frame, animate it, encode it) for one model, after one warm-up frame;
* :func:`demo_peak_memory`: peak resident memory of one ``tools/demo.py``
  process, to compare a short and a long driving video (streaming keeps it
  flat).

Driving videos are generated (:func:`write_driving`): a camera panning over
a portrait, with a tone as long as the video.
"""
from __future__ import annotations

import os
import os.path as osp
import subprocess
import sys
from fractions import Fraction
from typing import Dict, Iterator, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config

from cpabmm.utils.environment import child_environment
from .settings import DEMO_MEMORY_CONFIG, PUBLISHED_CONFIGS, check_model_names
from .timing import Stopwatch, Timing


def portrait() -> np.ndarray:
    """A real portrait (scikit-image's astronaut), ``[512, 512, 3]`` uint8."""
    import skimage.data
    return skimage.data.astronaut()


def panning_frames(count: int, size: int) -> Iterator[np.ndarray]:
    """A camera panning over the portrait, generated one frame at a time."""
    import cv2
    image = portrait()
    for i in range(count):
        shift = int(40 * np.sin(i / 15))
        crop = image[60 + shift:380 + shift, 100 - shift:420 - shift]
        yield cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def _pull(sink) -> Iterator:
    import av
    while True:
        try:
            yield sink.pull()
        except av.error.EOFError:
            return


def write_driving(path: str, count: int, size: int, fps: int = 25) -> str:
    """Write a ``count``-frame panning video with a 440 Hz tone of equal
    length (H.264 + AAC) to ``path``; returns ``path``."""
    import av
    with av.open(path, 'w') as container:
        video = container.add_stream('libx264', rate=Fraction(fps))
        video.width = video.height = size
        video.pix_fmt = 'yuv420p'
        audio = container.add_stream('aac', rate=44100, layout='mono')
        tone = av.filter.Graph()
        sine = tone.add('sine', f'frequency=440:sample_rate=44100:duration={count / fps}')
        sink = tone.add('abuffersink')
        sine.link_to(sink)
        tone.configure()
        resampler = av.AudioResampler(format='fltp', layout='mono', rate=44100,
                                      frame_size=1024)
        for frame in _pull(sink):
            for chunk in resampler.resample(frame):
                container.mux(audio.encode(chunk))
        for chunk in resampler.resample(None):
            container.mux(audio.encode(chunk))
        container.mux(audio.encode(None))
        for frame in panning_frames(count, size):
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format='rgb24')))
        container.mux(video.encode(None))
    return path


def demo_speed(config: Union[str, Config], driving: str, frames: int, workdir: str,
               device: Union[str, torch.device] = 'cpu') -> Timing:
    """Seconds per frame of animate + encode (wall, and process CPU over all
    threads, which a busy machine inflates less), for ``frames`` frames
    after one warm-up frame, with the model of ``config`` (random weights).

    ``driving`` needs ``frames + 1`` frames; the video is written to
    ``workdir``.
    """
    from cpabmm.apis import Animation, init_model
    from cpabmm.io import VideoWriter
    from cpabmm.visualization import to_uint8
    if frames < 1:
        raise ValueError(f'frames must be at least 1, got {frames}')
    torch.manual_seed(0)
    model = init_model(config, device=device)
    animation = Animation(model, portrait(), driving)
    with VideoWriter(osp.join(workdir, 'speed.mp4'), audio_from=driving) as writer:
        steps = iter(animation)
        writer.write(to_uint8(next(steps).prediction))
        with Stopwatch(torch.device(device)) as watch:
            for _ in range(frames):
                writer.write(to_uint8(next(steps).prediction))
        steps.close()
    return watch.elapsed / frames


def demo_peak_memory(demo_script: str, config: str, driving: str, workdir: str,
                     python_path: Optional[str] = None) -> float:
    """Peak resident memory (MiB) of one ``tools/demo.py`` process animating
    the portrait by ``driving`` with the model of ``config`` (random weights,
    CPU, one thread, side-by-side video with keypoints)."""
    from PIL import Image
    source = osp.join(workdir, 'portrait.png')
    if not osp.exists(source):
        Image.fromarray(portrait()).save(source)
    argv = [sys.executable, demo_script, '--source', source, '--driving', driving,
            '--output', osp.join(workdir, 'memory.mp4'), '--config', config,
            '--random-weights', '--device', 'cpu', '--side-by-side', '--keypoints']
    env = child_environment(python_path, OMP_NUM_THREADS='1')
    log_path = osp.join(workdir, 'memory.log')
    with open(log_path, 'w') as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        with open(log_path) as log:
            raise RuntimeError(f'{demo_script} failed:\n{log.read()[-2000:]}')
    return usage.ru_maxrss / 1024  # kilobytes on Linux


def demo_speeds(config_root: str, names: Sequence[str], driving: str, frames: int,
                workdir: str, device: Union[str, torch.device] = 'cpu') -> Dict[str, Timing]:
    """:func:`demo_speed` of the published config of each model family of
    ``names`` (256 x 256, random weights)."""
    check_model_names(names)
    return {name: demo_speed(osp.join(config_root, PUBLISHED_CONFIGS[name]), driving, frames,
                             workdir, device) for name in names}


def demo_memory(repo_root: str, count: int, workdir: str) -> float:
    """Peak resident memory (MiB) of the repository's ``tools/demo.py`` with
    :data:`DEMO_MEMORY_CONFIG` and a generated ``count``-frame driving video."""
    driving = write_driving(osp.join(workdir, f'driving{count}.mp4'), count, 64)
    return demo_peak_memory(osp.join(repo_root, 'tools', 'demo.py'),
                            osp.join(repo_root, 'configs', DEMO_MEMORY_CONFIG), driving, workdir,
                            python_path=repo_root)
