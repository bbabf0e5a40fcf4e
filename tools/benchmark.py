"""Speed benchmarks of cpabmm's components (figures, not pass/fail tests).

Usage::

    python tools/benchmark.py cpab [--tess 4] [--samples 8] [--transforms 11]
                                   [--grid 64] [--repeat 3] [--threads N]

Each subcommand times its workload on every backend available here and
prints the time per backend with its ratio to the reference in the same run.
"""
import argparse
import statistics
import sys
import time
from typing import Callable, Dict, List

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
def cpab_workload(args: argparse.Namespace, device: torch.device,
                  dtype: torch.dtype):
    """Basis, thetas and the shared grid of the training-sized workload."""
    from cpabmm.ops.cpab.tessellation import Tessellation

    nc = (args.tess, args.tess)
    basis = torch.from_numpy(Tessellation(nc).basis).to(device, dtype)
    g = torch.Generator().manual_seed(0)
    theta = torch.randn(args.samples * args.transforms, basis.shape[1],
                        generator=g, dtype=torch.float64) * args.theta_std
    axis = torch.linspace(0, 1, args.grid, dtype=dtype, device=device)
    ys, xs = torch.meshgrid(axis, axis, indexing='ij')
    grid = torch.stack([xs, ys], -1).reshape(-1, 2)
    return nc, basis, theta.to(device, dtype), grid


def cpab_step(integrate: Callable, nc, basis: torch.Tensor, theta: torch.Tensor,
              grid: torch.Tensor) -> Callable[[], None]:
    """Forward and backward of ``sum(T_theta(grid))`` w.r.t. theta."""

    def step():
        th = theta.detach().requires_grad_()
        A = (th @ basis.T).reshape(th.shape[0], -1, 2, 3)
        integrate(A, grid, nc).sum().backward()

    return step


def run_cpab(args: argparse.Namespace) -> None:
    from cpabmm.ops.cpab import function, reference

    dtype = torch.float32
    devices = [torch.device('cpu')]
    if torch.cuda.is_available():
        devices.append(torch.device('cuda'))
    print(f'CPAB transform, forward + backward: {args.samples} samples x '
          f'{args.transforms} transformations x {args.grid}x{args.grid} grid, '
          f'{args.tess}x{args.tess} cells, theta std {args.theta_std}, '
          f'{dtype}, {torch.get_num_threads()} CPU threads')
    for device in devices:
        nc, basis, theta, grid = cpab_workload(args, device, dtype)
        backends: Dict[str, Callable] = {'torch': reference.integrate}
        if function.compiled_available(device):
            name = 'cpp' if device.type == 'cpu' else 'cuda'
            backends[name] = function.compiled_integrate
        else:
            print(f'  {device}: compiled op not available (build it with '
                  '`python setup.py build_ext --inplace`)')
        rows: List[tuple] = []
        for name, integrate in backends.items():
            slow = name == 'torch' and device.type == 'cpu'  # nothing to warm
            seconds = timed(cpab_step(integrate, nc, basis, theta, grid),
                            args.reference_repeat if slow else args.repeat,
                            device, warmup=not slow)
            rows.append((name, seconds))
        base = rows[0][1]
        for name, seconds in rows:
            print(f'  {device.type:5s} {name:6s} {seconds * 1e3:10.1f} ms   '
                  f'{base / seconds:7.1f}x vs torch')


def add_cpab_parser(subparsers) -> None:
    p = subparsers.add_parser('cpab', help='CPAB transformation backends')
    p.add_argument('--tess', type=int, default=4, help='cells per side')
    p.add_argument('--samples', type=int, default=8)
    p.add_argument('--transforms', type=int, default=11)
    p.add_argument('--grid', type=int, default=64, help='grid side')
    p.add_argument('--theta-std', type=float, default=1.0,
                   help='standard deviation of the random thetas')
    p.add_argument('--repeat', type=int, default=3,
                   help='timed runs of the compiled backends (median)')
    p.add_argument('--reference-repeat', type=int, default=1,
                   help='timed runs of the (slow) reference backend')
    p.set_defaults(run=run_cpab)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch\'s own)')
    subparsers = parser.add_subparsers(dest='command', required=True)
    add_cpab_parser(subparsers)
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    args.run(args)


if __name__ == '__main__':
    sys.exit(main())
