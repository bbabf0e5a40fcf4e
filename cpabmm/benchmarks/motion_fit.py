"""Speed and quality of the keypoint-to-CPAB solvers (``tools/benchmark.py
motion``): the fast solver against the published Adam loop on keypoint
pairs of several distributions, and against the published loop's own
record in the libcpab fixture."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Tuple

import torch

from cpabmm.models.layers import coordinate_grid
from cpabmm.models.motion import CPABMotion
from cpabmm.models.motion.cpab_diagnostics import (fit_errors, keypoint_pairs, published_thetas,
                                                   theta_sizes, warp_determinants)
from .timing import measure

SOLVERS = ('fast', 'adam')


@dataclass
class SolverTiming:
    """One solver on one batch of keypoint pairs: median seconds of ``fit``
    and of ``warp`` on the grid, ``fit`` over the fast solver's, mean keypoint
    errors and theta sizes per family (``'partial'``, ``'global'``) and the
    range of the warps' Jacobian determinants."""
    solver: str
    fit: float
    warp: float
    fit_ratio: float
    errors: Dict[str, float]
    theta_sizes: Dict[str, Dict[str, float]]
    determinants: Dict[str, Tuple[float, float]]


def motion_device(backend: str) -> torch.device:
    """Where the CPAB op ``backend`` runs: the GPU for ``'cuda'``, else the CPU."""
    return torch.device('cuda' if backend == 'cuda' else 'cpu')


def build_solvers(backend: str) -> Dict[str, CPABMotion]:
    """CPABMM's motion model with each solver, on ``backend``'s device."""
    device = motion_device(backend)
    return {solver: CPABMotion(solver=solver, backend=backend).to(device) for solver in SOLVERS}


def solver_timings(motions: Mapping[str, CPABMotion], kp_source: torch.Tensor,
                   kp_driving: torch.Tensor, grid: int = 64, repeat: int = 3
                   ) -> List[SolverTiming]:
    """Time and judge each solver of ``motions`` (the fast one first) on the
    pairs; the fast fit is timed ``repeat`` times after a warm-up, the Adam
    loop once."""
    device = kp_source.device
    points = coordinate_grid((grid, grid), device=device)
    source, driving = {'value': kp_source}, {'value': kp_driving}
    rows: List[SolverTiming] = []
    for solver, motion in motions.items():
        fast = solver == 'fast'
        fit = measure(lambda: motion.fit(source, driving), repeat if fast else 1, warmup=fast,
                      device=device, reduce='median').wall
        params = motion.fit(source, driving)
        warp = measure(lambda: motion.warp(params, points), repeat, device=device,
                       reduce='median').wall
        rows.append(SolverTiming(
            solver, fit, warp, fit / (rows[0].fit if rows else fit),
            fit_errors(motion, params, kp_source, kp_driving), theta_sizes(motion, params),
            warp_determinants(motion, params)))
    return rows


def distribution_pairs(fixture_record: dict, distribution: str, samples: int,
                       device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
    """``samples`` keypoint pairs of ``distribution`` on ``device``."""
    kp_source, kp_driving = keypoint_pairs(distribution, samples, fixture=fixture_record)
    return kp_source.to(device), kp_driving.to(device)


def published_loop_seconds(fixture_record: dict, samples: int) -> float:
    """The published loop's recorded CPU seconds (partial + global fits on
    two cores) scaled from the fixture's pairs to ``samples`` pairs."""
    recorded = (fixture_record['partial']['seconds_cpu_2cores'] +
                fixture_record['global']['seconds_cpu_2cores'])
    return recorded * samples / fixture_record['kp_source'].shape[0]


def published_comparison(fast: CPABMotion, fixture: dict,
                         device: torch.device) -> Dict[str, Dict[str, float]]:
    """The fast solver (on ``device``) against the published loop's record on
    the fixture's pairs, per family: mean keypoint error, mean theta norm and
    mean prior energy of each (libcpab's thetas mapped into our basis)."""
    record = fixture['keypoint_fit']
    kp_source, kp_driving = record['kp_source'].to(device), record['kp_driving'].to(device)
    params = fast.fit({'value': kp_source}, {'value': kp_driving})
    errors, sizes = fit_errors(fast, params, kp_source, kp_driving), theta_sizes(fast, params)
    comparison = {}
    for family, tess in (('partial', fast.partial), ('global', fast.global_)):
        theta = published_thetas(fixture, family, tess)
        energy = torch.einsum('gd,de,ge->g', theta, tess.precision.double(), theta).mean()
        comparison[family] = {
            'fast_error': errors[family], 'fast_norm': sizes[family]['mean_norm'],
            'fast_energy': sizes[family]['energy'],
            'published_error': float(record[family]['mean_error']),
            'published_norm': float(theta.norm(dim=1).mean()), 'published_energy': float(energy)}
    return comparison
