"""Distributed runs: the tools' launcher arguments, and training on
machines without CUDA (gloo).

MMEngine 0.10's PyTorch launcher calls ``torch.cuda.set_device`` and wraps
the model in DDP with ``device_ids=[LOCAL_RANK]``; both fail without a GPU.
:func:`prepare_cpu_distributed` starts the gloo process group from the
``torchrun`` environment itself (the runner then skips its own set-up) and
configures DDP without device ids. With CUDA it does nothing.
"""
from __future__ import annotations

import argparse
import os
from typing import List, Optional

import torch
import torch.distributed as dist
from mmengine.config import Config

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def parse_with_launcher(parser: argparse.ArgumentParser, argv: Optional[List[str]],
                        job: str) -> argparse.Namespace:
    """Add ``--launcher`` and ``--local-rank`` to a tool's ``parser`` and parse
    ``argv``; a launcher that passes ``--local-rank`` only gets it into
    ``LOCAL_RANK`` as MMEngine reads it. ``job`` names the run in the help."""
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none',
                        help=f'job launcher for distributed {job}')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if args.launcher != 'none':
        os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def prepare_cpu_distributed(cfg: Config) -> bool:
    """Initialise gloo for a CPU-only distributed run; True if it did."""
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return False
    if cfg.launcher != 'pytorch':
        raise ValueError(
            f'launcher {cfg.launcher!r} needs CUDA; on a CPU-only machine use '
            '--launcher pytorch (tools/dist_train.sh)')
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo', init_method='env://')
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return True
