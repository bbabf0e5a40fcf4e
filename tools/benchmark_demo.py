"""Benchmark the demo: speed of the three models and memory of streaming.

    python tools/benchmark_demo.py [--frames 4] [--memory-frames 10 1000]

Prints (no pass/fail):

* frames per second of the demo loop (read a driving frame, animate, encode)
  at 256x256 on this machine for FOMM, TPSMM and CPABMM, with random
  weights, after one warm-up frame;
* peak resident memory of ``tools/demo.py`` (a separate process each) for a
  short and a long synthetic driving video with sound, with the small
  synthetic-64 TPSMM, and their ratio: streaming keeps it flat.
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SPEED_CONFIGS = {
    'FOMM': 'configs/fomm/fomm_k10_1xb40-100e_vox-256.py',
    'TPSMM': 'configs/tpsmm/tpsmm_k10_1xb28-100e_vox-256.py',
    'CPABMM': 'configs/cpabmm/cpabmm_k10_1xb8-100e_vox-256.py',
}
MEMORY_CONFIG = 'configs/tpsmm/tpsmm_k10-small_1xb8-20e_synthetic-64.py'


def portrait() -> np.ndarray:
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


def write_driving(path: str, count: int, size: int, fps: int = 25) -> str:
    """A driving video of ``count`` frames with a 440 Hz tone of equal length."""
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


def _pull(sink) -> Iterator:
    import av
    while True:
        try:
            yield sink.pull()
        except av.error.EOFError:
            return


def demo_speed(config: str, driving: str, frames: int, workdir: str) -> Tuple[float, float]:
    """Frames per second of animate + encode after one warm-up frame, and
    the CPU seconds (all threads) per frame, which a busy machine inflates
    less than the wall time."""
    from cpabmm.apis import Animation, init_model
    from cpabmm.apis.media import tensor_to_uint8
    from cpabmm.video import VideoWriter
    torch.manual_seed(0)
    model = init_model(osp.join(REPO, config))
    animation = Animation(model, portrait(), driving)
    with VideoWriter(osp.join(workdir, 'speed.mp4'), audio_from=driving) as writer:
        steps = iter(animation)
        writer.write(tensor_to_uint8(next(steps).prediction))
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(frames):
            writer.write(tensor_to_uint8(next(steps).prediction))
        elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        steps.close()
    return frames / elapsed, cpu / frames


def demo_peak_memory(driving: str, workdir: str) -> float:
    """Peak resident memory (MiB) of one ``tools/demo.py`` process."""
    argv = [sys.executable, osp.join(REPO, 'tools', 'demo.py'), '--source',
            osp.join(workdir, 'portrait.png'), '--driving', driving, '--output',
            osp.join(workdir, 'memory.mp4'), '--config', osp.join(REPO, MEMORY_CONFIG),
            '--random-weights', '--device', 'cpu', '--side-by-side', '--keypoints']
    # one thread: the small model gains little from more, and this measures memory
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    with open(osp.join(workdir, 'memory.log'), 'w') as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        with open(osp.join(workdir, 'memory.log')) as log:
            raise RuntimeError(f'tools/demo.py failed:\n{log.read()[-2000:]}')
    return usage.ru_maxrss / 1024  # kilobytes on Linux


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark tools/demo.py')
    parser.add_argument('--frames', type=int, default=4,
                        help='timed frames per model at 256x256 (after one warm-up)')
    parser.add_argument('--memory-frames', type=int, nargs=2, default=[10, 1000],
                        metavar=('SHORT', 'LONG'), help='driving video lengths compared')
    parser.add_argument('--threads', type=int, help='torch threads for the speed runs')
    parser.add_argument('--skip-speed', action='store_true')
    parser.add_argument('--skip-memory', action='store_true')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
          f'load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs')
    with tempfile.TemporaryDirectory() as workdir:
        if not args.skip_speed:
            driving = write_driving(osp.join(workdir, 'driving256.mp4'), args.frames + 1, 256)
            speeds: Dict[str, float] = {}
            for name, config in SPEED_CONFIGS.items():
                speeds[name], cpu = demo_speed(config, driving, args.frames, workdir)
                print(f'{name:7s} {speeds[name]:6.3f} frames/s ({1 / speeds[name]:.2f} s per '
                      f'256x256 frame, {cpu:.2f} CPU s per frame)', flush=True)
            print(f'time per frame, CPABMM / TPSMM: {speeds["TPSMM"] / speeds["CPABMM"]:.2f}x; '
                  f'FOMM / TPSMM: {speeds["TPSMM"] / speeds["FOMM"]:.2f}x')
        if not args.skip_memory:
            from PIL import Image
            Image.fromarray(portrait()).save(osp.join(workdir, 'portrait.png'))
            peaks = {}
            for count in args.memory_frames:
                driving = write_driving(osp.join(workdir, f'driving{count}.mp4'), count, 64)
                start = time.perf_counter()
                peaks[count] = demo_peak_memory(driving, workdir)
                print(f'{count:5d}-frame driving video: peak RSS {peaks[count]:7.1f} MiB '
                      f'({time.perf_counter() - start:.0f} s)', flush=True)
            short, long = args.memory_frames
            print(f'peak memory {long} / {short} frames: {peaks[long] / peaks[short]:.3f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
