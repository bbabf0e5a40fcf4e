"""Train a model from a config: ``python tools/train.py CONFIG [options]``.

Exit status 2 with a one-line ``error: ...`` for a bad command line or config,
for a checkpoint (``--resume PATH``, ``load_from``) that is no complete
PyTorch file, and for ``--compile`` where ``torch.compile`` cannot run
(``error: --compile needs ...``).
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

from cpabmm.checkpoint import CheckpointError
from cpabmm.engine import (ConfigError, build_runner, enable_compile, load_tool_config,
                           parse_with_launcher)
from cpabmm.utils.tool import tool_main


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train an image animation model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='directory for logs and checkpoints')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest one in '
        'the work directory when no path is given')
    parser.add_argument(
        '--amp', action='store_true',
        help='mixed precision (bfloat16 autocast; CPU or a GPU with bfloat16)')
    parser.add_argument(
        '--compile', action='store_true',
        help='torch.compile the networks (the motion fit stays eager); the first '
        'iterations compile (minutes on a CPU)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. model.motion.type=TPSMotion')
    return parse_with_launcher(parser, argv, 'training')


def apply_amp(cfg) -> None:
    """Mixed precision: bfloat16 autocast for the animation models (any
    device with bfloat16, several optimisers included), MMEngine's
    ``AmpOptimWrapper`` (CUDA) for other models with a single optimiser."""
    import torch
    if cfg.model.get('type') == 'ImageAnimator':
        if torch.cuda.is_available() and not torch.cuda.is_bf16_supported():
            raise ConfigError('--amp trains in bfloat16, which this GPU does not support; '
                              'drop --amp to train in float32')
        cfg.model.mixed_precision = 'bfloat16'
        return
    if not torch.cuda.is_available():
        raise ConfigError('--amp needs a CUDA device (none found); drop --amp to train in float32')
    wrapper = cfg.optim_wrapper
    if wrapper.get('type', 'OptimWrapper') == 'OptimWrapper':
        wrapper.type = 'AmpOptimWrapper'
        wrapper.setdefault('loss_scale', 'dynamic')
    elif wrapper.get('type') != 'AmpOptimWrapper':
        raise ConfigError(
            f'--amp cannot change optim_wrapper of type {wrapper.type!r}; set '
            'AmpOptimWrapper in the config instead')


def build_cfg(args: argparse.Namespace):
    cfg = load_tool_config(args)
    if args.amp:
        apply_amp(cfg)
    if args.compile:
        enable_compile(cfg)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise ConfigError(f'--resume checkpoint not found: {args.resume}')
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


@tool_main('checkpoints already written are complete (continue with --resume)',
           usage_errors=(ConfigError, CheckpointError))
def main(argv=None) -> int:
    build_runner(build_cfg(parse_args(argv))).train()
    return 0


if __name__ == '__main__':
    sys.exit(main())
