"""Speed benchmarks of cpabmm's components (figures, not pass/fail tests).

Usage::

    python tools/benchmark.py cpab [--tess 4] [--samples 8] [--transforms 11]
                                   [--grid 64] [--repeat 3] [--threads N]
    python tools/benchmark.py motion [--samples 8] [--backend auto] [--fixture PATH]
                                     [--distribution all|fixture-noisy|small|large|degenerate]
    python tools/benchmark.py train [--models FOMM TPSMM CPABMM] [--sizes 64x8 256x2]
                                    [--amp] [--perceptual]
                                    [--repeat 2]
    python tools/benchmark.py model [--models FOMM TPSMM CPABMM] [--size 256] [--repeat 3]
                                    [--device cpu] [--official DIR] [--compile]
    python tools/benchmark.py demo [--frames 4] [--memory-frames 10 1000]
    python tools/benchmark.py startup [--model cpabmm-lite] [--device cpu] [--repeat 3]
    python tools/benchmark.py onnx [--models FOMM TPSMM CPABMM] [--size 256] [--repeat 3]
                                   [--device cpu]
    python tools/benchmark.py losses [--sam-arch vit_b] [--dino-arch vit_b8] [--sizes 64x8 256x2]
    python tools/benchmark.py converge [--iters 300] [--models FOMM TPSMM CPABMM]

Each subcommand times its workload (on every backend or model it compares)
and prints the figures with their ratios to a reference in the same run. The
workloads live in :mod:`cpabmm.benchmarks`; this file parses arguments and
prints.
"""
import argparse
import os
import os.path as osp
import sys
import tempfile
import warnings
from typing import Dict

import torch
from mmengine.config import DictAction

from cpabmm import benchmarks
from cpabmm.benchmarks import MODEL_NAMES, Stopwatch, Timing
from cpabmm.checkpoint import read_file
from cpabmm.models.compile import CompileUnavailableError, check_compile_available
from cpabmm.models.motion.cpab_diagnostics import DISTRIBUTIONS
from cpabmm.ops.cpab.function import backend_name
from cpabmm.utils import setup_runtime
from cpabmm.utils.run_state import fresh_run_state

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_ROOT = osp.join(REPO, 'configs')


def machine() -> str:
    """Threads and load: what the figures of a shared machine depend on."""
    return (f'torch {torch.__version__}, {torch.get_num_threads()} CPU threads, load average '
            f'{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs')


def where(device: torch.device) -> str:
    """The device, the machine and the CPAB backend that runs there."""
    return f'{device}, {machine()}, CPAB op: {backend_name(device)}'


def print_family_ratio(results: Dict[str, Timing], target: str, indent: str = '    ') -> None:
    """CPABMM / TPSMM of the wall and CPU times, when both were measured."""
    if {'TPSMM', 'CPABMM'} <= set(results):
        ratio = results['CPABMM'].ratio(results['TPSMM'])
        print(f'{indent}CPABMM / TPSMM: {ratio.wall:.2f}x wall, {ratio.cpu:.2f}x CPU '
              f'(target: {target})')


# cpab ---------------------------------------------------------------------
def run_cpab(args: argparse.Namespace) -> None:
    print(f'CPAB transform_grid, forward + backward: {args.samples} samples x '
          f'{args.transforms} transformations x {args.grid}x{args.grid} grid, '
          f'{args.tess}x{args.tess} cells, prior thetas (output variance '
          f'{args.output_variance}), float32, {torch.get_num_threads()} CPU threads')
    result = benchmarks.cpab_backend_timings(
        args.tess, args.samples * args.transforms, args.grid, args.output_variance,
        args.repeat, args.reference_repeat)
    for device, name in result.missing.items():
        print(f'  {device}: {name}')
    for row in result.rows:
        print(f'  {row.device:5s} {row.backend:6s} {row.seconds * 1e3:10.1f} ms   '
              f'{row.speedup:7.1f}x vs torch')


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


# motion -------------------------------------------------------------------
def print_solver(row: benchmarks.SolverTiming, grid: int) -> None:
    print(f'  {row.solver:5s} fit {row.fit * 1e3:9.1f} ms ({row.fit_ratio:6.1f}x the fast fit)'
          f'   warp {grid}x{grid} {row.warp * 1e3:8.1f} ms   error partial '
          f'{row.errors["partial"]:.4f} global {row.errors["global"]:.4f}')
    print('        ' + '   '.join(
        f'{name}: |theta| mean {s["mean_norm"]:.2f} max {s["max_norm"]:.2f} (entry '
        f'{s["max_entry"]:.2f}) prior energy {s["energy"]:7.2f} det '
        f'[{row.determinants[name][0]:.3f}, {row.determinants[name][1]:.3f}]'
        for name, s in row.theta_sizes.items()))


def print_published(args: argparse.Namespace, fast, fast_fit: float,
                    device: torch.device) -> None:
    fixture = read_file(args.fixture)
    record = fixture['keypoint_fit']
    pairs = record['kp_source'].shape[0]
    scaled = benchmarks.published_loop_seconds(record, args.samples)
    recorded = benchmarks.published_loop_seconds(record, pairs)
    print(f'  published loop (fixture, {pairs} samples: {recorded:.1f} s) scaled to '
          f'{args.samples} samples: {scaled:.1f} s = {scaled / fast_fit:.0f}x the fast fit')
    for family, c in benchmarks.published_comparison(fast, fixture, device).items():
        print(f'  on the fixture\'s {pairs} pairs, {family:7s}: fast error {c["fast_error"]:.4f} '
              f'|theta| {c["fast_norm"]:.2f} energy {c["fast_energy"]:.1f}; published loop '
              f'error {c["published_error"]:.4f} |theta| {c["published_norm"]:.2f} energy '
              f'{c["published_energy"]:.1f}')


def run_motion(args: argparse.Namespace) -> None:
    record = read_file(args.fixture)['keypoint_fit']
    device = benchmarks.motion_device(args.backend)
    print(f'CPABMotion fit (10 partial 4x4 + 1 global 6x6 per sample), {args.samples} '
          f'samples, backend {args.backend!r} on {device}, float32, '
          f'{torch.get_num_threads()} CPU threads')
    motions = benchmarks.build_solvers(args.backend)
    for distribution in DISTRIBUTIONS if args.distribution == 'all' else (args.distribution,):
        kp_source, kp_driving = benchmarks.distribution_pairs(record, distribution,
                                                              args.samples, device)
        print(f' {distribution} (mean keypoint motion '
              f'{(kp_source - kp_driving).norm(dim=-1).mean():.4f}):')
        rows = benchmarks.solver_timings(motions, kp_source, kp_driving, args.grid, args.repeat)
        for row in rows:
            print_solver(row, args.grid)
        if distribution == 'fixture-noisy':
            print_published(args, motions['fast'], rows[0].fit, device)


def add_motion_parser(subparsers) -> None:
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


# train --------------------------------------------------------------------
def run_train(args: argparse.Namespace) -> None:
    device = torch.device(args.device)
    if args.configs:
        run_train_configs(args, device)
        return
    vgg = (' and the published VGG-19 perceptual pyramid (random weights)'
           if args.perceptual else '')
    print(f'training step (forward + backward + every optimiser step), min of {args.repeat} '
          f'after a warm-up; {where(device)}. Losses: the synthetic configs\' weight-free '
          'ones for every model (L1 + SSIM pyramid, equivariance; warp and background cycle '
          f'for TPSMM/CPABMM){vgg}; 64 px: the synthetic architectures, 256 px: the '
          'published ones')
    for size, batch in args.sizes:
        print(f'  batch {batch} at {size}x{size}:')
        results = benchmarks.train_step_timings(CONFIG_ROOT, args.models, size, batch,
                                                args.repeat, device, args.amp,
                                                args.perceptual)
        for name, timings in results.items():
            full = timings['float32']
            print(f'    {name:7s} {full.wall:8.2f} s wall {full.cpu:8.2f} s CPU')
            if 'bfloat16' in timings:
                mixed = timings['bfloat16']
                print(f'    {name:7s} {mixed.wall:8.2f} s wall {mixed.cpu:8.2f} s CPU with '
                      f'--amp (bfloat16 autocast): x{mixed.ratio(full).wall:.2f} wall')
        print_family_ratio({name: t['float32'] for name, t in results.items()}, 'within 1.5x')


def run_train_configs(args: argparse.Namespace, device: torch.device) -> None:
    """``train --configs``: each config's own training step."""
    options = f' with {" ".join(f"{k}={v}" for k, v in args.cfg_options.items())}' \
        if args.cfg_options else ''
    print(f'training step of each config as it trains (its batch and frame size){options}, '
          f'min of {args.repeat} after a warm-up; {where(device)}')
    timings = benchmarks.config_step_timings(args.configs, args.repeat, device,
                                             args.cfg_options)
    for path, timing in timings.items():
        print(f'  {timing.wall:8.3f} s wall {timing.cpu:8.3f} s CPU  {path}')


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


def add_step_arguments(parser: argparse.ArgumentParser, repeat: int) -> None:
    """The settings of a training-step table: sizes, repeats and device."""
    parser.add_argument('--sizes', nargs='+', type=size_and_batch,
                        default=[(64, 8), (256, 2)], metavar='SIZExBATCH',
                        help='settings (64: synthetic architectures, others: published)')
    parser.add_argument('--repeat', type=int, default=repeat)
    parser.add_argument('--device', default='cpu')


def add_models_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--models', nargs='+', default=list(MODEL_NAMES), choices=MODEL_NAMES)


def add_train_parser(subparsers) -> None:
    p = subparsers.add_parser('train', help='training step of FOMM, TPSMM and CPABMM')
    add_models_argument(p)
    add_step_arguments(p, repeat=2)
    p.add_argument('--amp', action='store_true',
                   help='also time each model with bfloat16 autocast (tools/train.py --amp)')
    p.add_argument('--perceptual', action='store_true',
                   help='add the published VGG-19 perceptual pyramid loss (random weights) to '
                        "every model's losses")
    p.add_argument('--configs', nargs='+', metavar='CONFIG',
                   help='time these config files instead, each at its own batch and frame '
                        'size (e.g. the lite configs of docs/results.md)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                   help='with --configs: override entries of every config, e.g. '
                        'model.motion.solver=adam')
    p.set_defaults(run=run_train)


# model --------------------------------------------------------------------
def print_ops_ratio(label: str, ours: Dict[str, float], reference: Dict[str, float],
                    time_target: str, ops_target: str) -> None:
    """``label``: the wall, CPU and ATen-op ratios of two forward figures."""
    print(f'  {label}: {ours["mean"] / reference["mean"]:.2f}x wall, '
          f'{ours["cpu"] / reference["cpu"]:.2f}x CPU (target: {time_target}); ATen ops '
          f'{int(ours["ops"])} / {int(reference["ops"])} = {ours["ops"] / reference["ops"]:.2f}x '
          f'(target: {ops_target})')


def run_official(args: argparse.Namespace, ours: Dict[str, Dict[str, float]],
                 device: torch.device) -> None:
    """The official networks of ``--official DIR`` on the same frames, and
    ours over them: the ATen ops of each, and the time of each network timed
    in alternation with ours (a changing load falls on both alike)."""
    wanted = [name for name in benchmarks.OFFICIAL_TREES if name in args.models]
    found = benchmarks.available_official(args.official)
    if not wanted:
        return
    if not found:
        print(f'official baseline skipped: no official tree under --official '
              f'({args.official or "not given"}; see docs/benchmarks.md)')
        return
    print(f'official networks of {args.official} (their modules/ and config/vox-256.yaml, '
          f'random weights), the same frames, each timed in alternation with ours (median of '
          f'{args.repeat} rounds):')
    for name in wanted:
        if name not in found:
            print(f'  official {name:6s} skipped: no {benchmarks.OFFICIAL_TREES[name]}/ there')
            continue
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', UserWarning)  # the official code's, see official.py
            official = benchmarks.build_official(args.official, name, device)
            ops = benchmarks.count_official_ops(official, args.size)
            t = benchmarks.alternating_forward_times(
                benchmarks.build_published(CONFIG_ROOT, name, args.size, device), official,
                args.size, args.repeat)
        print(f'  official {name:6s} {t["official"].wall:7.3f} s wall {t["official"].cpu:7.3f} s '
              f'CPU per frame, ours {t["ours"].wall:7.3f} s wall {t["ours"].cpu:7.3f} s CPU;  '
              f'{ops} ATen ops', flush=True)
        print_ops_ratio(f'ours / official {name}',
                        dict(mean=t['ours'].wall, cpu=t['ours'].cpu, ops=ours[name]['ops']),
                        dict(mean=t['official'].wall, cpu=t['official'].cpu, ops=ops),
                        'at most 1.1x', 'at most 1.0x')


def print_compiled(name: str, t: Dict[str, float]) -> None:
    """The compiled forward's row of ``model --compile`` and eager / compiled."""
    print(f'  {name:7s} {t["compiled_mean"]:7.3f} s wall {t["compiled_cpu"]:7.3f} s CPU per '
          f'frame compiled (torch.compile; motion fit {t["compiled_fit"] * 1e3:.1f} ms wall); '
          f'eager / compiled: {t["mean"] / t["compiled_mean"]:.2f}x wall, '
          f'{t["cpu"] / t["compiled_cpu"]:.2f}x CPU; compiling (first call): '
          f'{t["compile"]:.1f} s wall {t["compile_cpu"]:.1f} s CPU', flush=True)


def run_model(args: argparse.Namespace) -> None:
    device = torch.device(args.device)
    if args.compile:
        try:
            check_compile_available(device)
        except CompileUnavailableError as error:
            print(f'error: --compile needs {error.needs}', file=sys.stderr)
            sys.exit(2)
    print(f'per-frame forward (predict: keypoints, motion fit, dense motion, generator) of the '
          f'published architectures, random weights, batch 1 at {args.size}x{args.size}, mean '
          f'of {args.repeat} after a warm-up; ATen ops: top-level aten:: events of the CPU '
          f'profiler in one forward; {where(device)}')
    results, fits, figures = {}, {}, {}
    for name in args.models:  # one at a time: each row shows as soon as it is measured
        t = figures[name] = benchmarks.published_forward_timings(
            CONFIG_ROOT, [name], args.size, args.repeat, device, count_ops=True,
            compile=args.compile)[name]
        results[name], fits[name] = Timing(t['mean'], t['cpu']), Timing(t['fit'], t['fit_cpu'])
        print(f'  {name:7s} {t["mean"]:7.3f} s wall {t["cpu"]:7.3f} s CPU per frame;  '
              f'motion fit {t["fit"] * 1e3:8.1f} ms wall {t["fit_cpu"] * 1e3:8.1f} ms CPU '
              f'({100 * t["fit"] / t["mean"]:4.1f}% of the forward wall, '
              f'{100 * t["fit_cpu"] / t["cpu"]:4.1f}% of its CPU);  {int(t["ops"])} ATen ops',
              flush=True)
        if args.compile:
            print_compiled(name, t)
    print_family_ratio(results, 'within 1.25x', indent='  ')
    if {'TPSMM', 'CPABMM'} <= set(figures):
        ops = figures['CPABMM']['ops'] / figures['TPSMM']['ops']
        print(f'  CPABMM / TPSMM ATen ops: {int(figures["CPABMM"]["ops"])} / '
              f'{int(figures["TPSMM"]["ops"])} = {ops:.2f}x (target: at most 1.25x)')
    if 'CPABMM' in results:
        share = fits['CPABMM'].ratio(results['CPABMM'])
        print(f'  CPABMM motion fit share of the forward: {100 * share.wall:.1f}% wall, '
              f'{100 * share.cpu:.1f}% CPU (target: at most 10%)')
    run_official(args, figures, device)


def add_model_parser(subparsers) -> None:
    p = subparsers.add_parser('model', help='per-frame forward of FOMM, TPSMM and CPABMM')
    add_models_argument(p)
    p.add_argument('--size', type=int, default=256, help='image side')
    p.add_argument('--repeat', type=int, default=3, help='timed frames per model')
    p.add_argument('--device', default='cpu')
    p.add_argument('--compile', action='store_true',
                   help='also time each model with its networks compiled (torch.compile, '
                        'the mode of the device), after the eager figures')
    p.add_argument('--official', metavar='DIR', default=None,
                   help='folder with the official source trees (Thin-Plate-Spline-Motion-Model/, '
                        'first-order-model/): their TPSMM and FOMM are timed too')
    p.set_defaults(run=run_model)


# demo ---------------------------------------------------------------------
def run_demo(args: argparse.Namespace) -> None:
    print(machine())
    with tempfile.TemporaryDirectory() as workdir:
        if not args.skip_speed:
            print(f'demo loop (read, animate, encode) at 256x256, random weights, {args.frames} '
                  'frames after a warm-up frame:')
            driving = benchmarks.write_driving(osp.join(workdir, 'driving256.mp4'),
                                               args.frames + 1, 256)
            results = {}
            for name in args.models:
                t = results[name] = benchmarks.demo_speeds(CONFIG_ROOT, [name], driving,
                                                           args.frames, workdir,
                                                           args.device)[name]
                print(f'  {name:7s} {1 / t.wall:6.3f} frames/s ({t.wall:.2f} s wall, '
                      f'{t.cpu:.2f} s CPU per frame)', flush=True)
            print_family_ratio(results, 'within 1.25x', indent='  time per frame, ')
        if not args.skip_memory:
            print(f'peak resident memory of tools/demo.py ({benchmarks.DEMO_MEMORY_CONFIG}, '
                  'random weights, one thread, side-by-side video with keypoints):')
            peaks = {}
            for count in args.memory_frames:
                with Stopwatch() as watch:
                    peaks[count] = benchmarks.demo_memory(REPO, count, workdir)
                print(f'  {count:5d}-frame driving video: peak RSS {peaks[count]:7.1f} MiB '
                      f'({watch.elapsed.wall:.0f} s)', flush=True)
            short, long = args.memory_frames
            print(f'  peak memory {long} / {short} frames: {peaks[long] / peaks[short]:.3f} '
                  '(target: within 1.10)')


def add_demo_parser(subparsers) -> None:
    p = subparsers.add_parser('demo', help='demo frames/s and streaming memory')
    add_models_argument(p)
    p.add_argument('--frames', type=int, default=4,
                   help='timed frames per model at 256x256 (after one warm-up)')
    p.add_argument('--memory-frames', type=int, nargs=2, default=[10, 1000],
                   metavar=('SHORT', 'LONG'), help='driving video lengths compared')
    p.add_argument('--device', default='cpu')
    p.add_argument('--skip-speed', action='store_true')
    p.add_argument('--skip-memory', action='store_true')
    p.set_defaults(run=run_demo)


# startup ------------------------------------------------------------------
def run_startup(args: argparse.Namespace) -> None:
    print(machine())
    print(f'start-up of a new process, min of {args.repeat} (each stage includes the ones '
          f'above it); model {args.model} on {args.device}:')
    seconds = benchmarks.startup_seconds(REPO, args.model, args.source, args.device,
                                         args.repeat)
    previous = 0.0
    for label, value in seconds.items():
        print(f'  {value:6.2f} s  (+{value - previous:5.2f} s)  {label}')
        previous = value
    print(f'  time to the first frame: {previous:.2f} s (target on a GPU: at most 5 s)')


def add_startup_parser(subparsers) -> None:
    p = subparsers.add_parser('startup', help='demo start-up: imports, model, first frame')
    p.add_argument('--model', default='cpabmm-lite', help='zoo name of the model')
    p.add_argument('--source', default=osp.join(REPO, 'demo', 'source.png'),
                   help='picture (also the one-frame driving video)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--repeat', type=int, default=3)
    p.set_defaults(run=run_startup)


# onnx ---------------------------------------------------------------------
def run_onnx(args: argparse.Namespace) -> None:
    print(machine())
    threads = torch.get_num_threads()
    print(f'per frame (driving keypoints, motion, dense motion, generator) of the published '
          f'architectures, random weights, batch 1 at {args.size}x{args.size}, best of '
          f'{args.repeat} after a warm-up; PyTorch eager and onnxruntime ({threads} intra-op '
          f'threads each) on {args.device}:')
    for name in args.models:
        t = benchmarks.onnx_frame_timings(CONFIG_ROOT, [name], args.size, args.repeat,
                                          args.device)[name]
        ratio = t['torch'].ratio(t['onnx'])
        fit = 'in the graph' if t['in_graph'] else 'in PyTorch'
        print(f"  {name:7s} PyTorch {t['torch'].wall:7.3f} s wall {t['torch'].cpu:7.3f} s CPU; "
              f"onnxruntime {t['onnx'].wall:7.3f} s wall {t['onnx'].cpu:7.3f} s CPU; "
              f'PyTorch / onnxruntime {ratio.wall:.2f}x wall {ratio.cpu:.2f}x CPU '
              f"(motion fit {fit}; export {t['export']:.1f} s; mean |difference| "
              f"{t['difference']:.1e})", flush=True)


def add_onnx_parser(subparsers) -> None:
    p = subparsers.add_parser('onnx', help='PyTorch eager against onnxruntime per frame')
    add_models_argument(p)
    p.add_argument('--size', type=int, default=256, help='image side')
    p.add_argument('--repeat', type=int, default=3, help='timed frames per model')
    p.add_argument('--device', default='cpu',
                   help='cpu, or cuda (onnxruntime-gpu\'s CUDA provider)')
    p.set_defaults(run=run_onnx)


# losses -------------------------------------------------------------------
def print_timings(results: Dict[str, Timing], reference: str) -> None:
    """One row per timing, with the reference row's wall time over its own."""
    for name, t in results.items():
        print(f'  {name:40s} {t.wall * 1e3:10.1f} ms wall {t.cpu * 1e3:10.1f} ms CPU   '
              f'{reference} / this: {results[reference].ratio(t).wall:6.1f}x')


def run_losses(args: argparse.Namespace) -> None:
    arch, dino = benchmarks.sam_arch(args.sam_arch), benchmarks.dino_arch(args.dino_arch)
    dino_name = 'DINO ViT-B/8' if args.dino_arch == 'vit_b8' else f'DINO ViT ({args.dino_arch})'
    print(machine())
    if not args.skip_costs:
        costs, entry = benchmarks.sam_loss_cost(arch, args.sam_batch, args.sam_size, args.repeat)
        print(f'SAM keypoint semantic loss, {args.sam_arch} encoder (random weights), batch '
              f'{args.sam_batch} pairs at {args.sam_size} px (cache entry on disk: '
              f'{entry / 1024:.1f} KiB, float16):')
        print_timings(costs, 'loss step, no cache')
        t = benchmarks.dino_loss_cost(args.dino_batch, args.dino_size, args.repeat, dino)
        print(f'{dino_name} structure alignment loss (random weights), batch {args.dino_batch} '
              f'at {args.dino_size} px, forward + backward: {t.wall:.2f} s wall, '
              f'{t.cpu:.2f} s CPU')
    device = torch.device(args.device)
    print(f'CPABMM training step (forward + backward + every optimiser step), min of '
          f'{args.repeat} after a warm-up; {where(device)}; the '
          f'synthetic config\'s weight-free losses, plus SAM ({args.sam_arch}, memory feature '
          'cache; warm: the warm-up step\'s frames again, cold: new frames every step) and/or '
          f'{dino_name}, random weights:')
    for size, batch in args.sizes:
        print(f'  batch {batch} at {size}x{size}:')
        cfg = benchmarks.training_config(CONFIG_ROOT, 'CPABMM', size)
        base = None
        for label, t in benchmarks.frozen_loss_step_times(cfg, arch, batch, args.repeat,
                                                             device, dino):
            base = base or t
            ratio = t.ratio(base)
            print(f'    {label:28s} {t.wall:8.2f} s wall {t.cpu:8.2f} s CPU   the step without '
                  f'them x{ratio.wall:.2f} wall, x{ratio.cpu:.2f} CPU', flush=True)


def add_losses_parser(subparsers) -> None:
    p = subparsers.add_parser('losses', help='cost of the SAM and DINO losses')
    p.add_argument('--sam-arch', default='vit_b', choices=('vit_b', 'tiny'),
                   help='SAM encoder: the published ViT-B (1024 px input) or a tiny one')
    p.add_argument('--sam-batch', type=int, default=1, help='pairs of the SAM cost rows')
    p.add_argument('--sam-size', type=int, default=256, help='frame side of the SAM cost rows')
    p.add_argument('--dino-arch', default='vit_b8', choices=('vit_b8', 'tiny'),
                   help='DINO backbone: the published ViT-B/8 or a tiny one')
    p.add_argument('--dino-batch', type=int, default=2)
    p.add_argument('--dino-size', type=int, default=256)
    add_step_arguments(p, repeat=1)
    p.add_argument('--skip-costs', action='store_true',
                   help='only the training-step table')
    p.set_defaults(run=run_losses)


# converge -----------------------------------------------------------------
def run_converge(args: argparse.Namespace) -> None:
    print(f'training loss of the synthetic configs over {args.iters} iterations (whole '
          f'epochs), MMEngine Runner, mean of the first and the last {args.window}; '
          f'{machine()}')
    for name in args.models:
        with Stopwatch() as watch:
            r = benchmarks.convergence(CONFIG_ROOT, name, args.iters, args.window)
        print(f'  {name:7s} {benchmarks.SYNTHETIC_CONFIGS[name]}: {int(r["iterations"])} '
              f'iterations, loss {r["first"]:.4f} -> {r["last"]:.4f} (last / first '
              f'{r["ratio"]:.3f}); {watch.elapsed.wall:.0f} s', flush=True)


def add_converge_parser(subparsers) -> None:
    p = subparsers.add_parser('converge', help='training loss over a short run')
    p.add_argument('--iters', type=int, default=300)
    p.add_argument('--window', type=int, default=20,
                   help='iterations averaged at the start and at the end')
    add_models_argument(p)
    p.set_defaults(run=run_converge)


@fresh_run_state()
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch\'s own)')
    subparsers = parser.add_subparsers(dest='command', required=True)
    for add_parser in (add_cpab_parser, add_motion_parser, add_train_parser, add_model_parser,
                       add_demo_parser, add_startup_parser, add_onnx_parser,
                       add_losses_parser, add_converge_parser):
        add_parser(subparsers)
    args = parser.parse_args(argv)
    setup_runtime()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    args.run(args)


if __name__ == '__main__':
    sys.exit(main())
