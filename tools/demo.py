"""Animate a picture by a driving video and write the result as a video.

    python tools/demo.py --source photo.jpg --driving talk.mp4 \\
        --config configs/tpsmm/tpsmm_k10_1xb28-100e_vox-256.py \\
        --checkpoint tpsmm_vox.pth --output result.mp4 [--mode relative] \\
        [--find-best-frame] [--side-by-side [PATH]] [--keypoints]
    python tools/demo.py --source photo.jpg --driving talk.mp4 --model cpabmm-lite
    python tools/demo.py --source photo.jpg --driving talk.mp4 \\
        --compare cpabmm-lite CONFIG:CHECKPOINT --output compare.mp4 [--keypoints]
    python tools/demo.py --source photo.jpg --driving talk.mp4 \\
        --backend onnxruntime --onnx EXPORT_DIR

``--backend onnxruntime --onnx EXPORT_DIR`` animates with the graphs that
``tools/export_onnx.py`` wrote (on the CPU unless ``--device cuda``, which
needs onnxruntime-gpu); it replaces ``--model``, ``--config``,
``--checkpoint``, ``--cfg-options``, ``--compile`` and ``--compare``.

``--model`` takes a model zoo name or alias (``tools/download.py --list``)
and uses its config and its checkpoint, verified by SHA-256 and downloaded
into the cache when needed.

``--compare MODEL MODEL [MODEL ...]`` animates the source with every model
(zoo names or aliases, or ``CONFIG.py:CHECKPOINT`` pairs: the config file, a
colon, its checkpoint) and writes one video to ``--output``: source |
driving | one column per model, every column titled (the zoo name, or the
config's file name without ``.py``) and of one size; ``--keypoints`` marks
each model's keypoints on its column. Every model gets the same source,
driving frames and options (each at its own image size; ``--size`` sets the
size of models that fix none). Not with ``--model``, ``--config``,
``--checkpoint``, ``--random-weights`` or ``--side-by-side``.

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
the model, an unknown zoo name, a failed or corrupt checkpoint download,
``--compare`` with fewer than two models or with options it replaces,
``--compile`` where ``torch.compile`` cannot run: ``error: --compile needs
...``), 1
when writing failed during the run (``error: could not write PATH: No space
left on device``; no file is left behind), 130 when interrupted (Ctrl-C), 143
when terminated (SIGTERM).
"""
import argparse
import logging
import os.path as osp
import sys
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.logging import print_log
from tqdm import tqdm

from cpabmm.apis import (MODES, Animation, Comparison, OnnxAnimator, init_model,
                         resolve_model_specs)
from cpabmm.apis import media
from cpabmm.apis.best_frame import LandmarkDetectorUnavailable
from cpabmm.apis.inference import choose_device
from cpabmm.apis.onnx_animator import OnnxRuntimeUnavailable
from cpabmm.apis.media import FIT_MODES, DrivingVideo, load_image, open_driving
from cpabmm.engine import load_config
from cpabmm.fileio import WriteError, check_writable_destination
from cpabmm.io import output_extension, write_videos
from cpabmm.models.compile import CompileUnavailableError, check_compile_available
from cpabmm.ops.cpab import CPAB
from cpabmm.ops.cpab.function import backend_name
from cpabmm.utils.tool import tool_main
from cpabmm.visualization import PREVIEW_MIN_SIZE, to_uint8
from cpabmm.zoo import DownloadError, resolve_model

#: progress bars that show frames per second even when slower than one
BAR_FORMAT = '{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_noinv_fmt}]'
#: options that --compare replaces (it names every model itself)
NOT_WITH_COMPARE = ('model', 'config', 'checkpoint', 'random_weights', 'side_by_side')
#: where the networks run: PyTorch, or onnxruntime with exported graphs
BACKENDS = ('pytorch', 'onnxruntime')
#: options of the PyTorch model that an onnxruntime export replaces
NOT_WITH_ONNX = ('model', 'compare', 'config', 'checkpoint', 'random_weights', 'cfg_options',
                 'compile')

def parse_size(text: str) -> Tuple[int, int]:
    """``'256'`` or ``'HxW'`` (e.g. ``'384x256'``) as ``(height, width)``."""
    try:
        return media.parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


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
    parser.add_argument('--compare', nargs='+', metavar='MODEL',
                        help='animate with two or more models and write one video: source '
                        '| driving | a titled column per model; each MODEL a zoo name or '
                        'alias, or CONFIG.py:CHECKPOINT (instead of --model, --config, '
                        '--checkpoint and --side-by-side)')
    parser.add_argument('--config', help='model config (or use --model)')
    parser.add_argument('--checkpoint', help='checkpoint of that config (converted official '
                        'checkpoints: tools/convert_checkpoint.py)')
    parser.add_argument('--backend', choices=BACKENDS, default='pytorch',
                        help='pytorch (default), or onnxruntime with the graphs of --onnx')
    parser.add_argument('--onnx', metavar='DIR',
                        help='--backend onnxruntime: the folder tools/export_onnx.py wrote '
                        '(instead of --model, --config and --checkpoint)')
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
                        help='draw keypoints on the side-by-side frames (with --compare: '
                        'each model\'s on its column)')
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
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the networks (the motion fit stays eager): '
                        'faster frames after a slow start (the first frame compiles, '
                        'minutes on a CPU); for long videos')
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


def load_model(config: str, checkpoint: Optional[str], args: argparse.Namespace,
               device: str) -> torch.nn.Module:
    """The model of ``config`` with the weights of ``checkpoint`` (None:
    random weights, with a warning) and ``--cfg-options``, on ``device``."""
    cfg = load_config(config, args.cfg_options)
    model = init_model(cfg, checkpoint, device=device, compile=args.compile)
    if any(isinstance(module, CPAB) for module in model.modules()):
        print_log(f'CPAB op on {device}: {backend_name(torch.device(device))}',
                  logger='current')
    if checkpoint is None:
        print_log('RANDOM WEIGHTS: no checkpoint was loaded, the output is meaningless '
                  '(for testing the pipeline only)', logger='current', level=logging.WARNING)
    return model


def build_model(args: argparse.Namespace, device: str) -> Union[torch.nn.Module, OnnxAnimator]:
    """The model of ``--model``, or of ``--config`` with ``--checkpoint``
    (or random weights), or the graphs of ``--onnx`` on onnxruntime."""
    if args.backend == 'onnxruntime':
        runtime = OnnxAnimator(args.onnx, device=device)
        print_log(f'onnxruntime on {device}: {runtime}', logger='current')
        return runtime
    return load_model(*model_files(args), args, device)


def check_backend(args: argparse.Namespace) -> None:
    """``--backend onnxruntime`` takes ``--onnx`` and none of the PyTorch
    model's options; ``--onnx`` needs that backend."""
    if args.backend == 'pytorch':
        if args.onnx is not None:
            raise ValueError('--onnx runs exported graphs: add --backend onnxruntime')
        return
    given = [f'--{name.replace("_", "-")}' for name in NOT_WITH_ONNX
             if getattr(args, name) not in (None, False)]
    if given:
        raise ValueError(f'--backend onnxruntime runs the exported graphs of --onnx; drop '
                         f'{", ".join(given)}')
    if args.onnx is None:
        raise ValueError('--backend onnxruntime needs --onnx DIR, a folder written by '
                         'tools/export_onnx.py')


def check_compile(args: argparse.Namespace) -> None:
    """With ``--compile``: ``torch.compile`` must work on the device, before
    anything is read or built."""
    if not args.compile:
        return
    try:
        check_compile_available(choose_device(args.device))
    except CompileUnavailableError as error:
        raise ValueError(f'--compile needs {error.needs}') from None


def check_outputs(args: argparse.Namespace, outputs: Sequence[Tuple[str, str]]) -> None:
    """Check each ``(path, option)`` destination before any work: a file of a
    type we write, where a file can be created, that is not an input."""
    inputs = {osp.realpath(args.source), osp.realpath(args.driving)}
    for path, option in outputs:
        check_writable_destination(path, 'file', option)
        output_extension(path)
        if osp.realpath(path) in inputs:
            raise ValueError(f'{path}: the output would overwrite an input; choose another '
                             '--output')


def open_inputs(args: argparse.Namespace) -> Tuple[np.ndarray, DrivingVideo, List[int],
                                                    float, str]:
    """The source picture, the driving video (at the ``--fps`` rate), how
    often to write each of its frames, the output frame rate and the device."""
    source = load_image(args.source)
    video = open_driving(args.driving)
    fps = args.fps or video.fps
    repeats = [1] * video.num_frames
    if args.fps is not None:
        video, repeats = video.resample(args.fps)
    return source, video, repeats, fps, choose_device(args.device)


def warn_single_frame(video: DrivingVideo, mode: str) -> None:
    if video.num_frames == 1 and mode == 'relative':
        print_log('one driving frame in relative mode gives back the source; use --mode '
                  'standard to take its pose', logger='current', level=logging.WARNING)


def prepare(args: argparse.Namespace) -> Tuple[Union[Animation, Comparison], List[int], float,
                                               List[str]]:
    """Check the inputs (before the model is built), build the model and the
    animation (with ``--compare``, the models and their comparison); returns
    it, how often to write each animated frame, the output frame rate and
    the output paths."""
    check_backend(args)
    if args.compare is not None:
        return prepare_comparison(args)
    outputs = [args.output]
    extra = side_by_side_path(args.output, args.side_by_side)
    if extra is not None:
        if osp.realpath(extra) == osp.realpath(args.output):
            raise ValueError(f'--side-by-side {extra} is the --output file; give it another '
                             'path (or none: it then goes next to the output)')
        outputs.append(extra)
    check_outputs(args, list(zip(outputs, ('--output', '--side-by-side'))))
    if args.keypoints and extra is None:
        raise ValueError('--keypoints draws on the side-by-side frames; add --side-by-side')
    check_compile(args)
    source, video, repeats, fps, device = open_inputs(args)
    if args.backend == 'onnxruntime' and args.device is None:
        device = 'cpu'
    model = build_model(args, device)
    animation = Animation(model, source, video, args.mode, args.adapt_scale,
                          args.initial_frame, args.size, args.fit, args.batch_size)
    warn_single_frame(video, args.mode)
    return animation, repeats, fps, outputs


def prepare_comparison(args: argparse.Namespace) -> Tuple[Comparison, List[int], float,
                                                          List[str]]:
    """:func:`prepare` for ``--compare``: the options are checked, then the
    destination, then every model is found (zoo names verified, files
    present) before the inputs are read and the models built."""
    given = [f'--{name.replace("_", "-")}' for name in NOT_WITH_COMPARE
             if getattr(args, name) not in (None, False)]
    if given:
        raise ValueError(f'--compare names every model and writes one video; drop '
                         f'{", ".join(given)}')
    if len(args.compare) < 2:
        raise ValueError(f'--compare needs at least two models, got {len(args.compare)}; '
                         'for one, use --model NAME or --config/--checkpoint')
    check_outputs(args, [(args.output, '--output')])
    check_compile(args)
    specs = resolve_model_specs(args.compare)
    source, video, repeats, fps, device = open_inputs(args)
    models = [load_model(spec.config, spec.checkpoint, args, device) for spec in specs]
    comparison = Comparison(models, [spec.label for spec in specs], source, video, args.mode,
                            args.adapt_scale, args.initial_frame, args.size, args.fit,
                            args.batch_size, PREVIEW_MIN_SIZE)
    for spec, animation in zip(specs, comparison.animations):
        if args.size is not None and animation.size != tuple(args.size):
            print_log(f'{spec.label} takes {animation.size[0]}x{animation.size[1]} images; '
                      '--size applies to the models without a fixed size', logger='current')
    warn_single_frame(video, args.mode)
    return comparison, repeats, fps, [args.output]


def search_initial_frame(animation: Union[Animation, Comparison]) -> None:
    with tqdm(total=animation.num_frames, desc='finding the best frame', unit='frame',
              bar_format=BAR_FORMAT) as bar:
        best = animation.search_initial_frame(progress=bar.update)
    if best is not None:
        print_log(f'relative motion starts from driving frame {best}', logger='current')


def output_frames(animation: Union[Animation, Comparison], keypoints: bool,
                  side_by_side: bool) -> Iterator[List[np.ndarray]]:
    """Per driving frame, one frame per output: the comparison frame, or the
    result (and its side-by-side frame)."""
    for step in animation:
        if isinstance(animation, Comparison):
            yield [animation.render(step, keypoints)]
            continue
        frames = [to_uint8(step.prediction)]
        if side_by_side:
            frames.append(animation.render(step, keypoints, PREVIEW_MIN_SIZE))
        yield frames


def write(animation: Union[Animation, Comparison], repeats: List[int], fps: float,
          outputs: List[str], args: argparse.Namespace) -> None:
    """Animate and write every frame (and the side-by-side frames), or
    every comparison frame; log each video written."""
    frames = output_frames(animation, args.keypoints, len(outputs) > 1)
    with tqdm(total=animation.num_frames, desc='animating', unit='frame',
              bar_format=BAR_FORMAT) as bar:
        writers = write_videos(outputs, frames, fps, repeats, bar.update, crf=args.crf,
                               audio_from=animation.video.path)
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
    except (ValueError, LandmarkDetectorUnavailable, DownloadError,
            OnnxRuntimeUnavailable) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    except WriteError as err:  # a full disk, an I/O error: not the arguments
        print(f'error: {err}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
