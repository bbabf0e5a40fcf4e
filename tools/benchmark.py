"""Speed benchmarks of cpabmm's components (figures, not pass/fail tests).

Usage::

    python tools/benchmark.py cpab [--tess 4] [--samples 8] [--transforms 11]
                                   [--grid 64] [--repeat 3] [--threads N]
    python tools/benchmark.py motion [--samples 8] [--backend auto] [--fixture PATH]
                                     [--distribution all|fixture-noisy|small|large|degenerate]
    python tools/benchmark.py train [--models FOMM TPSMM CPABMM] [--sizes 64x8 256x2]
                                    [--repeat 2]

Each subcommand times its workload on every backend available here and
prints the time per backend with its ratio to the reference in the same run.
"""
import argparse
import statistics
import sys
import time
from typing import Callable, List

import torch


def timed(fn: Callable[[], None], repeat: int, device: torch.device,
          warmup: bool = True) -> float:
    """Median wall time of ``fn`` in seconds (after one warm-up call)."""

    def sync():
        if device.type == 'cuda':
            torch.cuda.synchronize(device)

    if warmup:
        fn()
        sync()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# --------------------------------------------------------------------------
# cpab: the CPAB transformation of a training step's sampling grids
# --------------------------------------------------------------------------
def cpab_step(cpab, theta: torch.Tensor, grid_size: int) -> Callable[[], None]:
    """Forward and backward (w.r.t. theta) of the transformed grid."""

    def step():
        th = theta.detach().requires_grad_()
        cpab.transform_grid(th, (grid_size, grid_size)).sum().backward()

    return step


def run_cpab(args: argparse.Namespace) -> None:
    from cpabmm.ops.cpab import CPAB
    from cpabmm.ops.cpab.function import compiled_available

    n = args.samples * args.transforms
    print(f'CPAB transform_grid, forward + backward: {args.samples} samples x '
          f'{args.transforms} transformations x {args.grid}x{args.grid} grid, '
          f'{args.tess}x{args.tess} cells, prior thetas (output variance '
          f'{args.output_variance}), float32, {torch.get_num_threads()} CPU '
          'threads')
    devices = [torch.device('cpu')]
    if torch.cuda.is_available():
        devices.append(torch.device('cuda'))
    for device in devices:
        compiled = 'cpp' if device.type == 'cpu' else 'cuda'
        backends = ['torch']
        if compiled_available(device):
            backends.append(compiled)
        else:
            print(f'  {device.type}: the compiled op is not built (python '
                  'setup.py build_ext --inplace)')
        rows: List[tuple] = []
        for backend in backends:
            cpab = CPAB((args.tess, args.tess), backend=backend).to(device)
            theta = cpab.sample_theta(
                n, output_variance=args.output_variance, device=device,
                generator=torch.Generator().manual_seed(0))
            slow = backend == 'torch' and device.type == 'cpu'  # nothing to warm
            seconds = timed(cpab_step(cpab, theta, args.grid),
                            args.reference_repeat if slow else args.repeat,
                            device, warmup=not slow)
            rows.append((backend, seconds))
        base = rows[0][1]
        for backend, seconds in rows:
            print(f'  {device.type:5s} {backend:6s} {seconds * 1e3:10.1f} ms   '
                  f'{base / seconds:7.1f}x vs torch')


def add_cpab_parser(subparsers) -> None:
    p = subparsers.add_parser('cpab', help='CPAB transformation backends')
    p.add_argument('--tess', type=int, default=4, help='cells per side')
    p.add_argument('--samples', type=int, default=8)
    p.add_argument('--transforms', type=int, default=11)
    p.add_argument('--grid', type=int, default=64, help='grid side')
    p.add_argument('--output-variance', type=float, default=1.0,
                   help='of the smoothness prior the thetas are drawn from')
    p.add_argument('--repeat', type=int, default=3,
                   help='timed runs of the compiled backends (median)')
    p.add_argument('--reference-repeat', type=int, default=1,
                   help='timed runs of the reference backend on the CPU')
    p.set_defaults(run=run_cpab)


# --------------------------------------------------------------------------
# motion: keypoints to CPAB parameters, fast solver vs the published loop
# --------------------------------------------------------------------------
def keypoint_batch(fixture: dict, samples: int, distribution: str = 'fixture-noisy') -> tuple:
    """``samples`` keypoint pairs of ``distribution``: the fixture's pairs tiled
    with a little noise, or a synthetic set (small / large motions, nearly
    degenerate groups)."""
    from cpabmm.models.motion.cpab_diagnostics import keypoint_pairs
    return keypoint_pairs(distribution, samples, fixture=fixture)


def fit_error(motion, params, kp_source, kp_driving) -> tuple:
    """Mean keypoint error ([-1, 1] units) of the partial and global fits."""
    from cpabmm.models.motion.cpab_diagnostics import fit_errors
    errors = fit_errors(motion, params, kp_source, kp_driving)
    return errors['partial'], errors['global']


def fit_quality(motion, params) -> str:
    """Theta sizes and warp Jacobian determinant ranges, one line."""
    from cpabmm.models.motion.cpab_diagnostics import theta_sizes, warp_determinants
    sizes, determinants = theta_sizes(motion, params), warp_determinants(motion, params)
    return '   '.join(
        f'{name}: |theta| mean {s["mean_norm"]:.2f} max {s["max_norm"]:.2f} (entry '
        f'{s["max_entry"]:.2f}) prior energy {s["energy"]:7.2f} det [{determinants[name][0]:.3f}, '
        f'{determinants[name][1]:.3f}]' for name, s in sizes.items())


def run_motion(args: argparse.Namespace) -> None:
    from cpabmm.models.motion import CPABMotion
    from cpabmm.models.motion.cpab_diagnostics import DISTRIBUTIONS

    fixture = torch.load(args.fixture, weights_only=True)['keypoint_fit']
    published = (fixture['partial']['seconds_cpu_2cores'] +
                 fixture['global']['seconds_cpu_2cores'])
    published_samples = fixture['kp_source'].shape[0]
    grid = torch.stack(torch.meshgrid(torch.linspace(-1, 1, args.grid),
                                      torch.linspace(-1, 1, args.grid), indexing='xy'), -1)
    print(f'CPABMotion fit (10 partial 4x4 + 1 global 6x6 per sample), {args.samples} '
          f'samples, backend {args.backend!r}, float32, {torch.get_num_threads()} CPU threads')
    distributions = DISTRIBUTIONS if args.distribution == 'all' else (args.distribution,)
    motions = {solver: CPABMotion(solver=solver, backend=args.backend)
               for solver in ('fast', 'adam')}
    for distribution in distributions:
        kp_source, kp_driving = keypoint_batch(fixture, args.samples, distribution)
        source, driving = {'value': kp_source}, {'value': kp_driving}
        motion_size = (kp_source - kp_driving).norm(dim=-1).mean().item()
        print(f' {distribution} (mean keypoint motion {motion_size:.4f}):')
        rows = []
        for solver, motion in motions.items():
            fit = timed(lambda: motion.fit(source, driving),
                        args.repeat if solver == 'fast' else 1,
                        torch.device('cpu'), warmup=solver == 'fast')
            params = motion.fit(source, driving)
            warp = timed(lambda: motion.warp(params, grid), args.repeat, torch.device('cpu'))
            rows.append((solver, fit, warp) + fit_error(motion, params, kp_source, kp_driving)
                        + (fit_quality(motion, params),))
        fast_fit = rows[0][1]
        for solver, fit, warp, partial, global_, quality in rows:
            print(f'  {solver:5s} fit {fit * 1e3:9.1f} ms ({fit / fast_fit:6.1f}x the fast fit)   '
                  f'warp {args.grid}x{args.grid} {warp * 1e3:8.1f} ms   '
                  f'error partial {partial:.4f} global {global_:.4f}')
            print(f'        {quality}')
        if distribution == 'fixture-noisy':
            scaled = published * args.samples / published_samples
            print(f'  published loop (fixture, {published_samples} samples: {published:.1f} s) '
                  f'scaled to {args.samples} samples: {scaled:.1f} s = {scaled / fast_fit:.0f}x '
                  f'the fast fit; its errors: partial {fixture["partial"]["mean_error"]:.4f} '
                  f'global {fixture["global"]["mean_error"]:.4f}')


def add_motion_parser(subparsers) -> None:
    from cpabmm.models.motion.cpab_diagnostics import DISTRIBUTIONS

    p = subparsers.add_parser('motion', help='keypoint-to-CPAB solvers')
    p.add_argument('--samples', type=int, default=8)
    p.add_argument('--grid', type=int, default=64)
    p.add_argument('--backend', default='auto', choices=('auto', 'torch', 'cpp', 'cuda'))
    p.add_argument('--repeat', type=int, default=3)
    p.add_argument('--distribution', default='all', choices=('all',) + DISTRIBUTIONS,
                   help='keypoint pairs to fit (default: every distribution)')
    p.add_argument('--fixture', default='../shared/fixtures/cpab_libcpab_seed0.pt',
                   help='cpab_libcpab_seed0.pt (keypoints and the published loop\'s time)')
    p.set_defaults(run=run_motion)


# --------------------------------------------------------------------------
# train: the training step of the three models, with the same losses
# --------------------------------------------------------------------------
def run_train(args: argparse.Namespace) -> None:
    import os.path as osp

    from cpabmm.engine.train_benchmark import time_train_step, training_config
    from cpabmm.ops.cpab.function import compiled_available

    config_root = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs')
    device = torch.device(args.device)
    cpab = 'compiled' if compiled_available(device) else 'PyTorch reference'
    print(f'training step (forward + backward + every optimiser step), min of {args.repeat} '
          f'after a warm-up; {device}, {torch.get_num_threads()} CPU threads, CPAB op: {cpab}. '
          'Losses: the synthetic configs\' weight-free ones for every model (L1 + SSIM '
          'pyramid, equivariance; warp and background cycle for TPSMM/CPABMM); 64 px: the '
          'synthetic architectures, 256 px: the published ones')
    for setting in args.sizes:
        size, batch = (int(n) for n in setting.split('x'))
        print(f'  batch {batch} at {size}x{size}:')
        results = {}
        for name in args.models:
            results[name] = time_train_step(training_config(config_root, name, size), batch,
                                            args.repeat, device)
            print(f'    {name:7s} {results[name]["wall"]:8.2f} s wall '
                  f'{results[name]["cpu"]:8.2f} s CPU')
        if {'TPSMM', 'CPABMM'} <= set(results):
            print('    CPABMM / TPSMM: {:.2f}x wall, {:.2f}x CPU (target: within 1.5x)'.format(
                *(results['CPABMM'][key] / results['TPSMM'][key] for key in ('wall', 'cpu'))))


def add_train_parser(subparsers) -> None:
    p = subparsers.add_parser('train', help='training step of FOMM, TPSMM and CPABMM')
    p.add_argument('--models', nargs='+', default=['FOMM', 'TPSMM', 'CPABMM'],
                   choices=['FOMM', 'TPSMM', 'CPABMM'])
    p.add_argument('--sizes', nargs='+', default=['64x8', '256x2'],
                   help='SIZExBATCH settings (64: synthetic architectures, others: published)')
    p.add_argument('--repeat', type=int, default=2)
    p.add_argument('--device', default='cpu')
    p.set_defaults(run=run_train)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch\'s own)')
    subparsers = parser.add_subparsers(dest='command', required=True)
    add_cpab_parser(subparsers)
    add_motion_parser(subparsers)
    add_train_parser(subparsers)
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    args.run(args)


if __name__ == '__main__':
    sys.exit(main())
