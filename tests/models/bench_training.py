"""Training-step time of FOMM, TPSMM and CPABMM in one run (printed).

``python -m tests.models.bench_training`` (from the repository root) times
the animator's ``train_step`` (forward, backward and every optimiser step)
with the optimisers of each family's config:

* batch 8 at 64x64: the synthetic configs (``*-small_1xb8-20e_synthetic-64``)
  with their weight-free losses;
* batch 2 at 256x256: the published architectures (``_base_/models``) with
  the same weight-free losses (an L1 + SSIM pyramid instead of the VGG-19
  perceptual pyramid, whose weights cannot be fetched offline; equivariance,
  and warp and background cycle for TPSMM/CPABMM), so the three compare on
  equal terms. The SAM and DINO losses are timed by
  ``tests.models.losses.bench_frozen_losses``.

Wall time on a shared machine is inflated by other jobs; the process CPU
time is the steadier figure. Set ``OMP_NUM_THREADS`` to choose the threads.
"""
from __future__ import annotations

import argparse
import os.path as osp
import time
from typing import Dict, List

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import cpabmm.engine  # noqa: F401  (optimiser constructors)
import cpabmm.models  # noqa: F401
from cpabmm.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')
SYNTHETIC = {
    'FOMM': 'fomm/fomm_k10-small_1xb8-20e_synthetic-64.py',
    'TPSMM': 'tpsmm/tpsmm_k10-small_1xb8-20e_synthetic-64.py',
    'CPABMM': 'cpabmm/cpabmm_k10-small_1xb8-20e_synthetic-64.py',
}
PUBLISHED = {
    'FOMM': '_base_/models/fomm.py',
    'TPSMM': '_base_/models/tpsmm.py',
    'CPABMM': '_base_/models/cpabmm.py',
}


def training_config(name: str, size: int) -> Config:
    """The model and optimisers to time: the synthetic config at 64 px, the
    published architecture with the synthetic config's losses at 256 px."""
    synthetic = Config.fromfile(osp.join(CONFIGS, SYNTHETIC[name]))
    if size == 64:
        return synthetic
    cfg = Config.fromfile(osp.join(CONFIGS, PUBLISHED[name]))
    cfg.model.losses = synthetic.model.losses
    cfg.model.image_size = (size, size)
    return cfg


def build(cfg: Config):
    init_default_scope('cpabmm')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).train()
    options = {k: v for k, v in cfg.optim_wrapper.items() if k != 'constructor'}
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=cfg.optim_wrapper.constructor, optim_wrapper_cfg=options))
    return model, constructor(model)


def time_train_step(name: str, size: int, batch: int, repeats: int) -> Dict[str, float]:
    """Seconds per training step after one warm-up step (min over repeats)."""
    model, optimisers = build(training_config(name, size))
    generator = torch.Generator().manual_seed(0)
    data = {key: torch.rand(batch, 3, size, size, generator=generator)
            for key in ('source', 'driving')}
    model.train_step(data, optimisers)
    walls: List[float] = []
    cpus: List[float] = []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        model.train_step(data, optimisers)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {'wall': min(walls), 'cpu': min(cpus)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--models', nargs='+', default=list(SYNTHETIC), choices=list(SYNTHETIC))
    args = parser.parse_args(argv)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads; seconds per '
          f'training step (forward + backward + optimiser steps), min of {args.repeats}')
    for size, batch in ((64, 8), (256, 2)):
        results = {name: time_train_step(name, size, batch, args.repeats)
                   for name in args.models}
        print(f'\nbatch {batch} at {size}x{size}')
        print(f'| model | wall s | CPU s |\n|---|---|---|')
        for name, timing in results.items():
            print(f'| {name} | {timing["wall"]:.2f} | {timing["cpu"]:.2f} |')
        if {'TPSMM', 'CPABMM'} <= set(results):
            ratio = {key: results['CPABMM'][key] / results['TPSMM'][key]
                     for key in ('wall', 'cpu')}
            print(f'CPABMM / TPSMM: {ratio["wall"]:.2f}x wall, {ratio["cpu"]:.2f}x CPU '
                  '(target: within 1.5x)')


if __name__ == '__main__':
    main()
