"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [options]``.

Runs MMEngine's test loop (:class:`cpabmm.engine.AnimationTestLoop`) with the
reconstruction protocol (default) or the cross-identity animation protocol,
and writes the metrics JSON, the per-video CSV and, on request, PNG strips
and side-by-side videos. Bad input ends with a one-line ``error: ...`` and a
non-zero exit status (2 for the command line, the config and a checkpoint
file that is incomplete or unreadable, ``--compile`` where ``torch.compile``
cannot run, 1 for the rest), before any result file is written.
"""
import argparse
import copy
import logging
import os.path as osp
import sys
import traceback

from mmengine.config import DictAction
from mmengine.logging import print_log

from cpabmm.checkpoint import CheckpointError, load_model_weights
from cpabmm.engine import (PROTOCOLS, ConfigError, build_runner, enable_compile,
                           load_tool_config, parse_with_launcher, per_video_csv_path)
from cpabmm.evaluation import MetricUnavailableError
from cpabmm.fileio import DestinationError, check_writable_destination
from cpabmm.utils.tool import tool_main

TEST_LOOP = 'AnimationTestLoop'
#: Errors reported in one line; anything else is a bug and keeps its traceback.
EXPECTED_ERRORS = (ConfigError, MetricUnavailableError, ValueError, OSError, KeyError,
                   ImportError)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Evaluate an image animation model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file (MMEngine format)')
    parser.add_argument('--out', help='metrics JSON (default: <work-dir>/metrics.json); the '
                        'per-video CSV goes beside it as <name>_per_video.csv')
    parser.add_argument('--work-dir', help='directory for logs and outputs')
    parser.add_argument(
        '--protocol', choices=PROTOCOLS, default='reconstruction',
        help='reconstruction: every frame of each test video driven from its frame 0; '
        "animation: cross-identity pairs (the config's animation_dataset), relative motion")
    parser.add_argument('--save-strips', metavar='DIR',
                        help="write PNG strips in pose-evaluation's layout to DIR")
    parser.add_argument('--side-by-side', type=int, default=0, metavar='N',
                        help='write source|driving|prediction videos of the N best and '
                        'N worst test videos to <work-dir>/side_by_side')
    parser.add_argument('--rank-by', metavar='METRIC',
                        help='the metric ranking videos for --side-by-side (default L1)')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the networks (the motion fit stays eager); '
                        'the first batches compile (minutes on a CPU)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. test_dataloader.dataset.data_root=data/vox')
    return parse_with_launcher(parser, argv, 'testing')


def use_animation_protocol(cfg) -> None:
    """Test on the cross-identity pairs (``animation_dataset``) with the
    ``animation_evaluator``."""
    if 'animation_dataset' not in cfg:
        raise ConfigError(
            f'{cfg.filename} has no animation_dataset (cross-identity pairs), which '
            '--protocol animation needs; the VoxCeleb, TaiChi, TED and MGif configs '
            'define one')
    dataloader = copy.deepcopy(cfg.test_dataloader)
    dataloader.dataset = copy.deepcopy(cfg.animation_dataset)
    cfg.test_dataloader = dataloader
    cfg.test_evaluator = copy.deepcopy(
        cfg.get('animation_evaluator',
                dict(type='AnimationEvaluator', metrics=None, default_set='animation')))


def build_cfg(args: argparse.Namespace):
    """The config with the command line applied."""
    if not osp.isfile(args.checkpoint):
        raise ConfigError(f'checkpoint not found: {args.checkpoint}')
    if args.side_by_side < 0:
        raise ConfigError(
            f'--side-by-side takes a count of videos (0: none), got {args.side_by_side}')
    cfg = load_tool_config(args)
    if 'test_dataloader' not in cfg:
        raise ConfigError(f'{args.config} has no test_dataloader to evaluate on')
    if args.protocol == 'animation':
        use_animation_protocol(cfg)
    if args.compile:
        enable_compile(cfg)
    cfg.setdefault('test_evaluator', dict(type='AnimationEvaluator', metrics=None))
    test_cfg = dict(cfg.get('test_cfg') or {})
    test_cfg.setdefault('type', TEST_LOOP)
    if test_cfg['type'] != TEST_LOOP:
        raise ConfigError(
            f'test_cfg.type is {test_cfg["type"]!r}; tools/test.py runs {TEST_LOOP!r}')
    test_cfg.update(
        protocol=args.protocol,
        out=args.out or osp.join(cfg.work_dir, 'metrics.json'),
        save_strips=args.save_strips,
        side_by_side=args.side_by_side,
        rank_by=args.rank_by,
        meta=dict(checkpoint=osp.abspath(args.checkpoint)))
    # Every result file and folder must be writable before the model is built.
    destinations = [(cfg.work_dir, 'folder', '--work-dir'),
                    (test_cfg['out'], 'file', '--out' if args.out else 'metrics JSON'),
                    (test_cfg.get('per_video_csv') or per_video_csv_path(test_cfg['out']),
                     'file', 'per-video CSV')]
    if args.save_strips:
        destinations += [(path, 'folder', '--save-strips') for path in (
            args.save_strips, osp.join(args.save_strips, 'generated'),
            osp.join(args.save_strips, 'real'))]
    if args.side_by_side:
        destinations.append((test_cfg.get('side_by_side_dir')
                             or osp.join(cfg.work_dir, 'side_by_side'), 'folder',
                             '--side-by-side folder'))
    try:
        for path, kind, option in destinations:
            check_writable_destination(path, kind, option)
    except DestinationError as error:
        raise ConfigError(str(error)) from None
    cfg.test_cfg = test_cfg
    # Weights are loaded strictly by cpabmm.checkpoint.load_model_weights, not by the runner.
    cfg.load_from = None
    cfg.resume = False
    return cfg


def one_line(error: BaseException) -> str:
    """The error's message on one line."""
    # KeyError's str() quotes its message.
    message = error.args[0] if isinstance(error, KeyError) and error.args else error
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    return ' '.join(lines) or type(error).__name__


def run_test(cfg, checkpoint: str) -> dict:
    """Build the runner, load the weights strictly, run the test loop."""
    runner = build_runner(cfg)
    load_model_weights(runner.model, checkpoint)
    return runner.test()


@tool_main('no metrics file was written', usage_errors=(ConfigError, CheckpointError))
def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = build_cfg(args)
    try:
        run_test(cfg, args.checkpoint)
    except CheckpointError:
        raise  # an incomplete or unreadable checkpoint file: exit status 2 (tool_main)
    except EXPECTED_ERRORS as error:
        print_log(traceback.format_exc(), logger='current', level=logging.DEBUG)
        print(f'error: {one_line(error)}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
