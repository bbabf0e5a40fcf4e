"""Speed benchmarks of cpabmm's components (figures, not pass/fail tests).

Usage::

    python tools/benchmark.py cpab [--tess 4] [--samples 8] [--transforms 11]
                                   [--grid 64] [--repeat 3] [--threads N]
    python tools/benchmark.py motion [--samples 8] [--backend auto] [--fixture PATH]
                                     [--distribution all|fixture-noisy|small|large|degenerate]
    python tools/benchmark.py train [--models FOMM TPSMM CPABMM] [--sizes 64x8 256x2]
                                    [--repeat 2]
    python tools/benchmark.py model [--size 256] [--repeat 3] [--device cpu]
    python tools/benchmark.py demo [--frames 4] [--memory-frames 10 1000]
    python tools/benchmark.py losses [--sam-arch vit_b] [--sizes 64x8 256x2]
    python tools/benchmark.py converge [--iters 300] [--models FOMM TPSMM CPABMM]

Each subcommand times its workload (on every backend or model it compares)
and prints the figures with their ratios to a reference in the same run. The
workloads live in the library, next to what they measure; this file parses
arguments and prints.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Callable, List

import torch

from cpabmm.checkpoint import read_file
from cpabmm.ops.cpab.function import backend_name, compiled_available
from cpabmm.timing import Stopwatch, measure
from cpabmm.utils import setup_runtime
from cpabmm.utils.run_state import fresh_run_state

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_ROOT = osp.join(REPO, 'configs')
MODEL_NAMES = ['FOMM', 'TPSMM', 'CPABMM']


def timed(fn: Callable[[], None], repeat: int, device: torch.device,
          warmup: bool = True) -> float:
    """Median wall time of ``fn`` in seconds (after one warm-up call)."""
    return measure(fn, repeat, warmup, device, reduce='median').wall


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
            print(f'  {device.type}: {backend_name(device)}')
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


def motion_device(backend: str) -> torch.device:
    """Where the CPAB op ``backend`` runs: the GPU for ``'cuda'``, else the CPU."""
    return torch.device('cuda' if backend == 'cuda' else 'cpu')


def print_published_comparison(fast, fixture_path: str, device: torch.device) -> None:
    """The fast solver (on ``device``) against the published loop's own record
    on the fixture's pairs: errors, theta norms and prior energies (libcpab's
    thetas mapped into our basis)."""
    from cpabmm.models.motion.cpab_diagnostics import fit_errors, published_thetas, theta_sizes

    fixture = read_file(fixture_path)
    record = fixture['keypoint_fit']
    kp_source, kp_driving = record['kp_source'].to(device), record['kp_driving'].to(device)
    params = fast.fit({'value': kp_source}, {'value': kp_driving})
    errors, sizes = fit_errors(fast, params, kp_source, kp_driving), theta_sizes(fast, params)
    for family, tess in (('partial', fast.partial), ('global', fast.global_)):
        theta = published_thetas(fixture, family, tess)
        energy = torch.einsum('gd,de,ge->g', theta, tess.precision.double(), theta).mean()
        print(f'  on the fixture\'s {len(kp_source)} pairs, {family:7s}: fast error '
              f'{errors[family]:.4f} |theta| {sizes[family]["mean_norm"]:.2f} energy '
              f'{sizes[family]["energy"]:.1f}; published loop error '
              f'{record[family]["mean_error"]:.4f} |theta| {theta.norm(dim=1).mean():.2f} '
              f'energy {energy:.1f}')


def run_motion(args: argparse.Namespace) -> None:
    from cpabmm.models.motion import CPABMotion
    from cpabmm.models.motion.cpab_diagnostics import DISTRIBUTIONS

    fixture = read_file(args.fixture)['keypoint_fit']
    published = (fixture['partial']['seconds_cpu_2cores'] +
                 fixture['global']['seconds_cpu_2cores'])
    published_samples = fixture['kp_source'].shape[0]
    device = motion_device(args.backend)
    axis = torch.linspace(-1, 1, args.grid, device=device)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing='xy'), -1)
    print(f'CPABMotion fit (10 partial 4x4 + 1 global 6x6 per sample), {args.samples} '
          f'samples, backend {args.backend!r} on {device}, float32, '
          f'{torch.get_num_threads()} CPU threads')
    distributions = DISTRIBUTIONS if args.distribution == 'all' else (args.distribution,)
    motions = {solver: CPABMotion(solver=solver, backend=args.backend).to(device)
               for solver in ('fast', 'adam')}
    for distribution in distributions:
        kp_source, kp_driving = (kp.to(device) for kp in
                                 keypoint_batch(fixture, args.samples, distribution))
        source, driving = {'value': kp_source}, {'value': kp_driving}
        motion_size = (kp_source - kp_driving).norm(dim=-1).mean().item()
        print(f' {distribution} (mean keypoint motion {motion_size:.4f}):')
        rows = []
        for solver, motion in motions.items():
            fit = timed(lambda: motion.fit(source, driving),
                        args.repeat if solver == 'fast' else 1, device, warmup=solver == 'fast')
            params = motion.fit(source, driving)
            warp = timed(lambda: motion.warp(params, grid), args.repeat, device)
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
                  'the fast fit')
            print_published_comparison(motions['fast'], args.fixture, device)


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
def machine() -> str:
    """Threads and load: what the figures of a shared machine depend on."""
    return (f'torch {torch.__version__}, {torch.get_num_threads()} CPU threads, load average '
            f'{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs')


def print_ratio(results: dict, target: str, wall: str = 'wall', cpu: str = 'cpu',
                indent: str = '    ') -> None:
    """CPABMM / TPSMM of the wall and CPU times, when both were measured."""
    if {'TPSMM', 'CPABMM'} <= set(results):
        cpabmm, tpsmm = results['CPABMM'], results['TPSMM']
        print(f'{indent}CPABMM / TPSMM: {cpabmm[wall] / tpsmm[wall]:.2f}x wall, '
              f'{cpabmm[cpu] / tpsmm[cpu]:.2f}x CPU (target: {target})')


def run_train(args: argparse.Namespace) -> None:
    from cpabmm.engine.train_benchmark import time_train_step, training_config

    device = torch.device(args.device)
    cpab = backend_name(device)
    print(f'training step (forward + backward + every optimiser step), min of {args.repeat} '
          f'after a warm-up; {device}, {torch.get_num_threads()} CPU threads, CPAB op: {cpab}. '
          'Losses: the synthetic configs\' weight-free ones for every model (L1 + SSIM '
          'pyramid, equivariance; warp and background cycle for TPSMM/CPABMM); 64 px: the '
          'synthetic architectures, 256 px: the published ones')
    for size, batch in args.sizes:
        print(f'  batch {batch} at {size}x{size}:')
        results = {}
        for name in args.models:
            cfg = training_config(CONFIG_ROOT, name, size)
            results[name] = time_train_step(cfg, batch, args.repeat, device)
            print(f'    {name:7s} {results[name]["wall"]:8.2f} s wall '
                  f'{results[name]["cpu"]:8.2f} s CPU')
            if args.amp:
                cfg.model.mixed_precision = 'bfloat16'
                mixed = time_train_step(cfg, batch, args.repeat, device)
                print(f'    {name:7s} {mixed["wall"]:8.2f} s wall {mixed["cpu"]:8.2f} s CPU with '
                      f'--amp (bfloat16 autocast): x{mixed["wall"] / results[name]["wall"]:.2f} '
                      'wall')
        print_ratio(results, 'within 1.5x')


def add_train_parser(subparsers) -> None:
    p = subparsers.add_parser('train', help='training step of FOMM, TPSMM and CPABMM')
    p.add_argument('--models', nargs='+', default=MODEL_NAMES, choices=MODEL_NAMES)
    add_sizes_argument(p)
    p.add_argument('--repeat', type=int, default=2)
    p.add_argument('--device', default='cpu')
    p.add_argument('--amp', action='store_true',
                   help='also time each model with bfloat16 autocast (tools/train.py --amp)')
    p.set_defaults(run=run_train)


def size_and_batch(text: str) -> tuple:
    """``'64x8'`` -> ``(64, 8)``: image side and batch size."""
    try:
        size, batch = (int(n) for n in text.split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'{text!r} is not SIZExBATCH (e.g. 64x8: batch 8 at 64x64)') from None
    if size < 1 or batch < 1:
        raise argparse.ArgumentTypeError(f'{text!r}: size and batch must be positive')
    return size, batch


def add_sizes_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--sizes', nargs='+', type=size_and_batch,
                        default=[(64, 8), (256, 2)], metavar='SIZExBATCH',
                        help='settings (64: synthetic architectures, others: published)')


# --------------------------------------------------------------------------
# model: per-frame forward of the three published architectures
# --------------------------------------------------------------------------
def run_model(args: argparse.Namespace) -> None:
    from cpabmm.apis import init_model
    from cpabmm.engine.train_benchmark import PUBLISHED_MODELS
    from cpabmm.models import benchmark_forward

    device = torch.device(args.device)
    size = args.size
    print(f'per-frame forward (predict: keypoints, motion fit, dense motion, generator) of the '
          f'published architectures, random weights, batch 1 at {size}x{size}, mean of '
          f'{args.repeat} after a warm-up; {device}, {machine()}, CPAB op: '
          f'{backend_name(device)}')
    options = None if size == 256 else {'model.image_size': (size, size)}
    results = {}
    for name in args.models:
        model = init_model(osp.join(CONFIG_ROOT, PUBLISHED_MODELS[name]), device=device,
                           cfg_options=options)
        t = results[name] = benchmark_forward(model, size, args.repeat)
        print(f'  {name:7s} {t["mean"]:7.3f} s wall {t["cpu"]:7.3f} s CPU per frame;  '
              f'motion fit {t["fit"] * 1e3:8.1f} ms wall {t["fit_cpu"] * 1e3:8.1f} ms CPU '
              f'({100 * t["fit"] / t["mean"]:4.1f}% of the forward wall, '
              f'{100 * t["fit_cpu"] / t["cpu"]:4.1f}% of its CPU)', flush=True)
    print_ratio(results, 'within 1.25x', wall='mean', indent='  ')
    if 'CPABMM' in results:
        t = results['CPABMM']
        print(f'  CPABMM motion fit share of the forward: {100 * t["fit"] / t["mean"]:.1f}% '
              f'wall, {100 * t["fit_cpu"] / t["cpu"]:.1f}% CPU (target: at most 10%)')


def add_model_parser(subparsers) -> None:
    p = subparsers.add_parser('model', help='per-frame forward of FOMM, TPSMM and CPABMM')
    p.add_argument('--models', nargs='+', default=MODEL_NAMES, choices=MODEL_NAMES)
    p.add_argument('--size', type=int, default=256, help='image side')
    p.add_argument('--repeat', type=int, default=3, help='timed frames per model')
    p.add_argument('--device', default='cpu')
    p.set_defaults(run=run_model)


# --------------------------------------------------------------------------
# demo: frames per second of the demo loop, peak memory of tools/demo.py
# --------------------------------------------------------------------------
#: the models of the demo's speed figures (published architectures, 256x256)
DEMO_CONFIGS = {
    'FOMM': 'fomm/fomm_k10_1xb40-100e_vox-256.py',
    'TPSMM': 'tpsmm/tpsmm_k10_1xb28-100e_vox-256.py',
    'CPABMM': 'cpabmm/cpabmm_k10_1xb8-100e_vox-256.py',
}
#: the model of the memory figures (small: the video length is what varies)
DEMO_MEMORY_CONFIG = 'tpsmm/tpsmm_k10-small_1xb8-20e_synthetic-64.py'


def run_demo(args: argparse.Namespace) -> None:
    import tempfile

    from cpabmm.apis.demo_benchmark import demo_peak_memory, demo_speed, write_driving

    print(machine())
    with tempfile.TemporaryDirectory() as workdir:
        if not args.skip_speed:
            print(f'demo loop (read, animate, encode) at 256x256, random weights, {args.frames} '
                  'frames after a warm-up frame:')
            driving = write_driving(osp.join(workdir, 'driving256.mp4'), args.frames + 1, 256)
            results = {}
            for name in args.models:
                t = demo_speed(osp.join(CONFIG_ROOT, DEMO_CONFIGS[name]), driving, args.frames,
                               workdir, args.device)
                results[name] = {'wall': t.wall, 'cpu': t.cpu}
                print(f'  {name:7s} {1 / t.wall:6.3f} frames/s ({t.wall:.2f} s wall, '
                      f'{t.cpu:.2f} s CPU per frame)', flush=True)
            print_ratio(results, 'within 1.25x', indent='  time per frame, ')
        if not args.skip_memory:
            print(f'peak resident memory of tools/demo.py ({DEMO_MEMORY_CONFIG}, random weights, '
                  'one thread, side-by-side video with keypoints):')
            peaks = {}
            for count in args.memory_frames:
                driving = write_driving(osp.join(workdir, f'driving{count}.mp4'), count, 64)
                with Stopwatch() as watch:
                    peaks[count] = demo_peak_memory(
                        osp.join(REPO, 'tools', 'demo.py'), osp.join(CONFIG_ROOT,
                                                                     DEMO_MEMORY_CONFIG),
                        driving, workdir, python_path=REPO)
                print(f'  {count:5d}-frame driving video: peak RSS {peaks[count]:7.1f} MiB '
                      f'({watch.elapsed.wall:.0f} s)', flush=True)
            short, long = args.memory_frames
            print(f'  peak memory {long} / {short} frames: {peaks[long] / peaks[short]:.3f} '
                  '(target: within 1.10)')


def add_demo_parser(subparsers) -> None:
    p = subparsers.add_parser('demo', help='demo frames/s and streaming memory')
    p.add_argument('--models', nargs='+', default=MODEL_NAMES, choices=MODEL_NAMES)
    p.add_argument('--frames', type=int, default=4,
                   help='timed frames per model at 256x256 (after one warm-up)')
    p.add_argument('--memory-frames', type=int, nargs=2, default=[10, 1000],
                   metavar=('SHORT', 'LONG'), help='driving video lengths compared')
    p.add_argument('--device', default='cpu')
    p.add_argument('--skip-speed', action='store_true')
    p.add_argument('--skip-memory', action='store_true')
    p.set_defaults(run=run_demo)


# --------------------------------------------------------------------------
# losses: cost of the SAM and DINO losses, alone and in CPABMM's training step
# --------------------------------------------------------------------------
def print_timings(results: dict, reference: str) -> None:
    """One row per timing, with the reference row's wall time over its own."""
    base = results[reference].wall
    for name, t in results.items():
        print(f'  {name:40s} {t.wall * 1e3:10.1f} ms wall {t.cpu * 1e3:10.1f} ms CPU   '
              f'{reference} / this: {base / t.wall:6.1f}x')


def run_losses(args: argparse.Namespace) -> None:
    from cpabmm.engine.train_benchmark import frozen_loss_step_times, training_config
    from cpabmm.models.losses.benchmark import dino_loss_cost, sam_arch, sam_loss_cost

    arch = sam_arch(args.sam_arch)
    print(machine())
    if not args.skip_costs:
        costs, entry = sam_loss_cost(arch, args.sam_batch, args.sam_size, args.repeat)
        print(f'SAM keypoint semantic loss, {args.sam_arch} encoder (random weights), batch '
              f'{args.sam_batch} pairs at {args.sam_size} px (cache entry on disk: '
              f'{entry / 1024:.1f} KiB, float16):')
        print_timings(costs, 'loss step, no cache')
        t = dino_loss_cost(args.dino_batch, args.dino_size, args.repeat)
        print(f'DINO ViT-B/8 structure alignment loss (random weights), batch {args.dino_batch} '
              f'at {args.dino_size} px, forward + backward: {t.wall:.2f} s wall, '
              f'{t.cpu:.2f} s CPU')
    device = torch.device(args.device)
    print(f'CPABMM training step (forward + backward + every optimiser step), min of '
          f'{args.repeat} after a warm-up; {device}, CPAB op: {backend_name(device)}; the '
          f'synthetic config\'s weight-free losses, plus SAM ({args.sam_arch}, memory feature '
          'cache; warm: the warm-up step\'s frames again, cold: new frames every step) and/or '
          'DINO ViT-B/8, random weights:')
    for size, batch in args.sizes:
        print(f'  batch {batch} at {size}x{size}:')
        cfg = training_config(CONFIG_ROOT, 'CPABMM', size)
        base = None
        for label, t in frozen_loss_step_times(cfg, arch, batch, args.repeat, device):
            base = base or t
            print(f'    {label:28s} {t.wall:8.2f} s wall {t.cpu:8.2f} s CPU   the step without '
                  f'them x{t.wall / base.wall:.2f} wall, x{t.cpu / base.cpu:.2f} CPU', flush=True)


def add_losses_parser(subparsers) -> None:
    p = subparsers.add_parser('losses', help='cost of the SAM and DINO losses')
    p.add_argument('--sam-arch', default='vit_b', choices=('vit_b', 'tiny'),
                   help='SAM encoder: the published ViT-B (1024 px input) or a tiny one')
    p.add_argument('--sam-batch', type=int, default=1, help='pairs of the SAM cost rows')
    p.add_argument('--sam-size', type=int, default=256, help='frame side of the SAM cost rows')
    p.add_argument('--dino-batch', type=int, default=2)
    p.add_argument('--dino-size', type=int, default=256)
    add_sizes_argument(p)
    p.add_argument('--repeat', type=int, default=1)
    p.add_argument('--device', default='cpu')
    p.add_argument('--skip-costs', action='store_true',
                   help='only the training-step table')
    p.set_defaults(run=run_losses)


# --------------------------------------------------------------------------
# converge: the synthetic configs' training loss over a short run
# --------------------------------------------------------------------------
def run_converge(args: argparse.Namespace) -> None:
    from cpabmm.engine.convergence import CONVERGENCE_CONFIGS, convergence

    print(f'training loss of the synthetic configs over {args.iters} iterations (whole '
          f'epochs), MMEngine Runner, mean of the first and the last {args.window}; '
          f'{machine()}')
    for name in args.models:
        with Stopwatch() as watch:
            r = convergence(CONFIG_ROOT, name, args.iters, args.window)
        print(f'  {name:7s} {CONVERGENCE_CONFIGS[name]}: {int(r["iterations"])} iterations, '
              f'loss {r["first"]:.4f} -> {r["last"]:.4f} (last / first {r["ratio"]:.3f}); '
              f'{watch.elapsed.wall:.0f} s', flush=True)


def add_converge_parser(subparsers) -> None:
    p = subparsers.add_parser('converge', help='training loss over a short run')
    p.add_argument('--iters', type=int, default=300)
    p.add_argument('--window', type=int, default=20,
                   help='iterations averaged at the start and at the end')
    p.add_argument('--models', nargs='+', default=MODEL_NAMES, choices=MODEL_NAMES)
    p.set_defaults(run=run_converge)


@fresh_run_state()
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch\'s own)')
    subparsers = parser.add_subparsers(dest='command', required=True)
    add_cpab_parser(subparsers)
    add_motion_parser(subparsers)
    add_train_parser(subparsers)
    add_model_parser(subparsers)
    add_demo_parser(subparsers)
    add_losses_parser(subparsers)
    add_converge_parser(subparsers)
    args = parser.parse_args(argv)
    setup_runtime()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    args.run(args)


if __name__ == '__main__':
    sys.exit(main())
