"""Environment report and self-check: ``python -m cpabmm.utils.collect_env``.

Prints the versions that matter for bug reports (as MMEngine's
``collect_env``), which CPAB backend serves each device, and runs a tiny
correctness check of every compiled backend against the PyTorch reference:
the flow and its gradient on a few random fields, in float64. Exits with 1
when a check fails, or with ``--require-ops`` when the compiled CPU op is
missing.
"""
import argparse
import importlib.metadata
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.utils.dl_utils import collect_env as collect_base_env

from cpabmm.ops.cpab import CPAB
from cpabmm.ops.cpab.function import (BUILD_COMMAND, backend_name, compiled_available,
                                       load_ext)
from cpabmm.version import __version__

# compiled and reference flows are both exact; they agree to rounding
CHECK_TOLERANCE = 1e-9
DISTRIBUTIONS = ('mmcv-lite', 'segment-anything', 'lpips', 'opencv-python', 'av', 'numpy',
                 'mediapipe')
COMPILED_BACKENDS = {'cpu': 'cpp', 'cuda': 'cuda'}


def package_versions() -> Dict[str, str]:
    """Installed versions of the dependencies MMEngine's report leaves out."""
    versions = {}
    for name in DISTRIBUTIONS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = 'not installed'
    return versions


def devices() -> List[torch.device]:
    """The CPU and, when visible, the current CUDA device."""
    return [torch.device('cpu')] + ([torch.device('cuda')] if torch.cuda.is_available() else [])


def flow_and_gradient(backend: str, theta: torch.Tensor, points: torch.Tensor,
                      weights: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """``T(points)`` and the gradient of ``sum(weights * T(points))`` by theta."""
    theta = theta.detach().clone().requires_grad_(True)
    out = CPAB((4, 4), backend=backend).transform(theta, points)
    (out * weights).sum().backward()
    return out.detach(), theta.grad


def check_backend(device: torch.device) -> float:
    """Largest difference (flow and gradient) between the compiled backend of
    ``device`` and the reference, on 4 prior fields and 64 points in and
    around the domain, in float64."""
    generator = torch.Generator().manual_seed(0)
    theta = CPAB((4, 4)).sample_theta(4, generator=generator, dtype=torch.float64)
    points = torch.rand(64, 2, generator=generator, dtype=torch.float64) * 1.2 - 0.1
    weights = torch.randn(4, 64, 2, generator=generator, dtype=torch.float64)
    compiled = flow_and_gradient(COMPILED_BACKENDS[device.type], theta.to(device),
                                 points.to(device), weights.to(device))
    reference = flow_and_gradient('torch', theta, points, weights)
    return max((ours.cpu() - theirs).abs().max().item()
               for ours, theirs in zip(compiled, reference))


def cpab_report() -> Tuple[Dict[str, str], bool]:
    """The backend of each device and its check, and whether all checks passed."""
    report, passed = OrderedDict(), True
    ext = load_ext()
    report['CPAB CUDA kernels'] = 'built' if ext is not None and ext.has_cuda() else 'not built'
    for device in devices():
        report[f'CPAB op ({device.type})'] = backend_name(device)
        if compiled_available(device):
            error = check_backend(device)
            ok = error <= CHECK_TOLERANCE
            passed &= ok
            report[f'CPAB check ({device.type})'] = (
                f'{"ok" if ok else "FAILED"}: max difference {error:.2e} from the '
                f'PyTorch reference (tolerance {CHECK_TOLERANCE:g})')
    return report, passed


def collect_env() -> Tuple[Dict[str, str], bool]:
    """Everything the report prints, and whether the backend checks passed."""
    env = OrderedDict((key, value) for key, value in collect_base_env().items()
                      if key != 'PyTorch compiling details')
    env['cpabmm'] = __version__
    env.update(package_versions())
    env['torch threads'] = str(torch.get_num_threads())
    report, passed = cpab_report()
    env.update(report)
    return env, passed


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description='Print the environment of cpabmm and check the compiled CPAB op '
        'against the PyTorch reference (exit 1 when a check fails).')
    parser.add_argument('--require-ops', action='store_true',
                        help='also exit 1 when the compiled CPU op is not built')
    args = parser.parse_args(argv)
    env, passed = collect_env()
    for key, value in env.items():
        print(f'{key}: {value}')
    if not passed:
        print('error: a compiled CPAB backend disagrees with the reference; rebuild it '
              f'with `{BUILD_COMMAND}` and report the output above', file=sys.stderr)
        return 1
    if args.require_ops and not compiled_available(torch.device('cpu')):
        print(f'error: the compiled CPAB op is not built; build it with `{BUILD_COMMAND}` '
              "in the repository's root", file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
