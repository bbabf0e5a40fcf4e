"""Animate a picture by a driving video and write the result as a video.

    python tools/demo.py --source photo.jpg --driving talk.mp4 \\
        --config configs/tpsmm/tpsmm_k10_1xb28-100e_vox-256.py \\
        --checkpoint tpsmm_vox.pth --output result.mp4 [--mode relative] \\
        [--find-best-frame] [--side-by-side [PATH]] [--keypoints]
    python tools/demo.py --source photo.jpg --driving talk.mp4 --model cpabmm-lite

``--model`` takes a model zoo name or alias (``tools/download.py --list``)
and uses its config and its checkpoint, verified by SHA-256 and downloaded
into the cache when needed.

The driving video is read, animated and written one frame at a time, so its
length does not matter; its audio is copied into mp4/mov/mkv output (GIFs
have none). The output file appears only when it is complete.

Every destination (``--output``, ``--side-by-side``) is checked before the
model is built or the video read: it must be a file (not a folder) of a
supported type, in a folder where a file can be created (missing folders are
created; the nearest existing one is probed by creating a temporary file).

Exit status: 0 when the video was written, 2 for unusable input (a missing or
unreadable file, a video without frames, an unknown output type, a
destination that is a folder or cannot be written, options that do not fit
the model, an unknown zoo name, a failed or corrupt checkpoint download), 1
when writing failed during the run (``error: could not write PATH: No space
left on device``; no file is left behind), 130 when interrupted (Ctrl-C), 143
when terminated (SIGTERM).
"""
import argparse
import logging
import os.path as osp
import sys
from contextlib import ExitStack
from typing import List, Optional, Tuple

import torch
from mmengine.config import DictAction
from mmengine.logging import print_log
from tqdm import tqdm

#: progress bars that show frames per second even when slower than one
#: side-by-side frames of small models are enlarged to at least this height
PREVIEW_MIN_SIZE = 256
BAR_FORMAT = '{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_noinv_fmt}]'

from cpabmm.apis import MODES, Animation, init_model
from cpabmm.apis.best_frame import LandmarkDetectorUnavailable
from cpabmm.apis.media import FIT_MODES, load_image, open_driving
from cpabmm.engine import load_config
from cpabmm.fileio import WriteError, check_writable_destination
from cpabmm.io import VideoWriter, output_extension
from cpabmm.ops.cpab import CPAB
from cpabmm.ops.cpab.function import backend_name
from cpabmm.utils.tool import tool_main
from cpabmm.visualization import animation_panels, to_uint8
from cpabmm.zoo import DownloadError, resolve_model

def parse_size(text: str) -> Tuple[int, int]:
    """``'256'`` or ``'HxW'`` (e.g. ``'384x256'``) as ``(height, width)``."""
    try:
        sides = [int(side) for side in text.lower().split('x')]
    except ValueError:
        sides = []
    if len(sides) == 1:
        sides = sides * 2
    if len(sides) != 2 or min(sides) <= 0:
        raise argparse.ArgumentTypeError(f'size must be N or HxW, got {text!r}')
    return sides[0], sides[1]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Animate a source picture by the motion of a driving video.')
    parser.add_argument('--source', required=True, help='picture to animate (any size; '
                        'grayscale and RGBA are converted)')
    parser.add_argument('--driving', required=True, help='driving video (file, frame '
                        'folder) or one picture')
    parser.add_argument('--model', metavar='NAME',
                        help='a model zoo name or alias (tools/download.py --list): its '
                        'config and its verified checkpoint, downloaded when needed; '
                        'instead of --config/--checkpoint')
    parser.add_argument('--config', help='model config (or use --model)')
    parser.add_argument('--checkpoint', help='checkpoint of that config (converted official '
                        'checkpoints: tools/convert_checkpoint.py)')
    parser.add_argument('--random-weights', action='store_true',
                        help='run without a checkpoint; the output is MEANINGLESS (pipeline '
                        'tests only)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. model.motion.solver=adam')
    parser.add_argument('--mode', choices=MODES, default='relative',
                        help='how driving motion is transferred (default: relative)')
    parser.add_argument('--no-adapt-scale', dest='adapt_scale', action='store_false',
                        help='relative mode: do not rescale motion by keypoint hull areas')
    parser.add_argument('--find-best-frame', action='store_true',
                        help='relative mode: start from the driving frame whose face best '
                        'matches the source (needs mediapipe)')
    parser.add_argument('--initial-frame', type=int, default=0,
                        help='relative mode: driving frame motion is measured from '
                        '(counted at the output rate with --fps)')
    parser.add_argument('--output', default='result.mp4',
                        help='output video: .mp4, .mov, .mkv or .gif (default: result.mp4)')
    parser.add_argument('--side-by-side', nargs='?', const='', metavar='PATH',
                        help='also write source | driving | result frames, to PATH or '
                        'next to the output as <name>_side_by_side<ext>')
    parser.add_argument('--keypoints', action='store_true',
                        help='draw keypoints on the side-by-side frames')
    parser.add_argument('--fps', type=float,
                        help='output frame rate (default: the driving video\'s); the '
                        'duration is kept by dropping or repeating frames')
    parser.add_argument('--size', type=parse_size,
                        help='frame size N or HxW for models without a fixed one '
                        '(default 256)')
    parser.add_argument('--fit', choices=FIT_MODES, default='crop',
                        help='for pictures of another aspect ratio: centre crop, pad with '
                        'black, or stretch (default: crop)')
    parser.add_argument('--device', help='cuda, cuda:1, cpu... (default: cuda when '
                        'available, else cpu)')
    parser.add_argument('--batch-size', type=int, default=1,
                        help='driving frames animated at once (faster on GPUs)')
    parser.add_argument('--crf', type=int, default=18,
                        help='H.264 quality, 0 (lossless) to 51 (default 18)')
    return parser.parse_args(argv)


def side_by_side_path(output: str, value: Optional[str]) -> Optional[str]:
    """Where ``--side-by-side`` writes: its value, or next to the output."""
    if value is None:
        return None
    if value:
        return value
    stem, ext = osp.splitext(output)
    return f'{stem}_side_by_side{ext}'


def choose_device(requested: Optional[str]) -> str:
    if requested is None:
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    if requested.startswith('cuda') and not torch.cuda.is_available():
        raise ValueError(f'--device {requested}: no CUDA device here; use --device cpu')
    return requested


def model_files(args: argparse.Namespace) -> Tuple[str, Optional[str]]:
    """``(config, checkpoint)`` from ``--model`` or ``--config``/``--checkpoint``."""
    if args.model is not None:
        if args.config or args.checkpoint or args.random_weights:
            raise ValueError('--model NAME brings its own config and checkpoint; drop '
                             '--config, --checkpoint and --random-weights (or drop --model)')
        return resolve_model(args.model)
    if args.config is None:
        raise ValueError('--config is required (with its --checkpoint), or give --model NAME '
                         'for a zoo model (tools/download.py --list)')
    if args.checkpoint is None and not args.random_weights:
        raise ValueError('--checkpoint is required; pass --random-weights only to test the '
                         'pipeline (the output is then meaningless)')
    if args.checkpoint is not None and not osp.isfile(args.checkpoint):
        raise ValueError(f'{args.checkpoint}: no such checkpoint file')
    return args.config, args.checkpoint


def build_model(args: argparse.Namespace, device: str) -> torch.nn.Module:
    """The model of ``--model``, or of ``--config`` with ``--checkpoint``
    (or random weights)."""
    config, checkpoint = model_files(args)
    cfg = load_config(config, args.cfg_options)
    model = init_model(cfg, checkpoint, device=device)
    if any(isinstance(module, CPAB) for module in model.modules()):
        print_log(f'CPAB op on {device}: {backend_name(torch.device(device))}',
                  logger='current')
    if checkpoint is None:
        print_log('RANDOM WEIGHTS: no checkpoint was loaded, the output is meaningless '
                  '(for testing the pipeline only)', logger='current', level=logging.WARNING)
    return model


def prepare(args: argparse.Namespace) -> Tuple[Animation, List[int], float, List[str]]:
    """Check the inputs (before the model is built), build the model and the
    animation; returns it, how often to write each animated frame, the
    output frame rate and the output paths."""
    outputs = [args.output]
    extra = side_by_side_path(args.output, args.side_by_side)
    if extra is not None:
        if osp.realpath(extra) == osp.realpath(args.output):
            raise ValueError(f'--side-by-side {extra} is the --output file; give it another '
                             'path (or none: it then goes next to the output)')
        outputs.append(extra)
    inputs = {osp.realpath(args.source), osp.realpath(args.driving)}
    for path, option in zip(outputs, ('--output', '--side-by-side')):
        check_writable_destination(path, 'file', option)
        output_extension(path)
        if osp.realpath(path) in inputs:
            raise ValueError(f'{path}: the output would overwrite an input; choose another '
                             '--output')
    if args.keypoints and extra is None:
        raise ValueError('--keypoints draws on the side-by-side frames; add --side-by-side')
    source = load_image(args.source)
    video = open_driving(args.driving)
    fps = args.fps or video.fps
    repeats = [1] * video.num_frames
    if args.fps is not None:
        video, repeats = video.resample(args.fps)
    device = choose_device(args.device)
    model = build_model(args, device)
    animation = Animation(model, source, video, args.mode, args.adapt_scale,
                          args.initial_frame, args.size, args.fit, args.batch_size)
    if video.num_frames == 1 and args.mode == 'relative':
        print_log('one driving frame in relative mode gives back the source; use --mode '
                  'standard to take its pose', logger='current', level=logging.WARNING)
    return animation, repeats, fps, outputs


def search_initial_frame(animation: Animation) -> None:
    with tqdm(total=animation.num_frames, desc='finding the best frame', unit='frame',
              bar_format=BAR_FORMAT) as bar:
        best = animation.search_initial_frame(progress=bar.update)
    if best is not None:
        print_log(f'relative motion starts from driving frame {best}', logger='current')


def write(animation: Animation, repeats: List[int], fps: float, outputs: List[str],
          args: argparse.Namespace) -> None:
    """Animate and write every frame (and the side-by-side frames)."""
    source = to_uint8(animation.source[0])
    kp_source = animation.kp_source['value'][0].cpu().numpy()
    audio = animation.video.path
    with ExitStack() as stack:
        writers = [stack.enter_context(VideoWriter(path, fps, crf=args.crf, audio_from=audio))
                   for path in outputs]
        bar = stack.enter_context(tqdm(total=animation.num_frames, desc='animating',
                                       unit='frame', bar_format=BAR_FORMAT))
        for step, count in zip(animation, repeats):
            frames = [to_uint8(step.prediction)]
            if len(writers) > 1:
                keypoints = None
                if args.keypoints:
                    keypoints = [kp_source, step.kp_driving['value'].numpy(),
                                 step.kp_target['value'].numpy()]
                frames.append(animation_panels(source, to_uint8(step.driving),
                                               frames[0], keypoints, PREVIEW_MIN_SIZE))
            for writer, frame in zip(writers, frames):
                for _ in range(count):
                    writer.write(frame)
            bar.update(1)
        for writer in writers:  # all complete on disk before any is published
            writer.finish()
    for writer in writers:
        audio_note = ', with the driving audio' if writer.copies_audio else ''
        print_log(f'wrote {writer.path}: {writer.num_frames} frames at {fps:g} fps'
                  f'{audio_note}', logger='current')


@tool_main('no output was written')
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        animation, repeats, fps, outputs = prepare(args)
        if args.find_best_frame:
            if args.mode == 'relative':
                search_initial_frame(animation)
            else:
                print_log(f'--find-best-frame only changes relative mode; ignored in '
                          f'{args.mode} mode', logger='current', level=logging.WARNING)
        write(animation, repeats, fps, outputs, args)
    except (ValueError, LandmarkDetectorUnavailable, DownloadError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    except WriteError as err:  # a full disk, an I/O error: not the arguments
        print(f'error: {err}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
