"""Markdown tables of the motion-family experiment from its result files."""
from __future__ import annotations

import json
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from .motion_families import Run

#: the columns of the tables: ``(metric key, heading, digits)``
COLUMNS = (('MotionError', 'motion error (px)', 2), ('L1', 'L1', 4), ('PSNR', 'PSNR', 2),
           ('SSIM', 'SSIM', 3))
BINS = ('small', 'medium', 'large')


def read_metrics(path: str) -> Optional[Dict[str, float]]:
    """The ``metrics`` of a ``tools/test.py --out`` file, None if absent."""
    if not osp.exists(path):
        return None
    with open(path) as f:
        return json.load(f)['metrics']


def mean_spread(values: Sequence[float], digits: int) -> str:
    """``mean ± half range`` (``mean`` alone for one value)."""
    values = [v for v in values if v is not None]
    if not values:
        return 'n/a'
    mean = float(np.mean(values))
    if len(values) == 1:
        return f'{mean:.{digits}f}'
    return f'{mean:.{digits}f} ± {(max(values) - min(values)) / 2:.{digits}f}'


def _row(cells: Sequence[str]) -> str:
    return '| ' + ' | '.join(cells) + ' |'


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    return [_row(header), _row(['---'] * len(header)), *(_row(r) for r in rows)]


def best_runs(runs: Sequence[Run], results: Mapping[str, Mapping[str, dict]]) -> Dict[str, Run]:
    """The run of each family of the main arm with the lowest motion error on
    the validation split."""
    best: Dict[str, Run] = {}
    for run in runs:
        val = results[run.name].get('val')
        if run.arm != 'main' or val is None:
            continue
        if run.family not in best or \
                val['MotionError'] < results[best[run.family].name]['val']['MotionError']:
            best[run.family] = run
    return best


def family_table(runs: Sequence[Run], results: Mapping[str, Mapping[str, dict]],
                 baseline: Optional[dict], params: Mapping[str, int],
                 seconds: Mapping[str, float]) -> List[str]:
    """Test metrics of the main arm per family, mean ± half range over seeds."""
    rows = []
    for family in dict.fromkeys(r.family for r in runs if r.arm == 'main'):
        tests = [results[r.name]['test'] for r in runs
                 if r.arm == 'main' and r.family == family and results[r.name].get('test')]
        rows.append([family, f'{params.get(family, 0) / 1e6:.2f} M',
                     f'{seconds[family]:.2f}' if family in seconds else 'n/a', str(len(tests)),
                     *(mean_spread([t[key] for t in tests], digits) for key, _, digits in COLUMNS)])
    if baseline:
        rows.append(['no motion (source frame)', '', '', '',
                     *(f'{baseline[key]:.{digits}f}' for key, _, digits in COLUMNS)])
    return _table(['model', 'parameters', 's / iteration', 'seeds',
                   *(heading for _, heading, _ in COLUMNS)], rows)


def seed_table(runs: Sequence[Run], results: Mapping[str, Mapping[str, dict]]) -> List[str]:
    """Every synthetic run: validation motion error (which picks the seed)
    and the test metrics; the chosen seeds in bold."""
    chosen = {run.name for run in best_runs(runs, results).values()}
    rows = []
    for run in (run for run in runs if run.synthetic):
        test, val = results[run.name].get('test'), results[run.name].get('val')
        name = f'**{run.name}**' if run.name in chosen else run.name
        rows.append([name, run.arm, f'{val["MotionError"]:.2f}' if val else 'n/a',
                     *(f'{test[key]:.{digits}f}' if test else 'n/a'
                       for key, _, digits in COLUMNS)])
    return _table(['run', 'arm', 'val motion error',
                   *(f'test {heading}' for _, heading, _ in COLUMNS)], rows)


def tercile_table(runs: Sequence[Run], results: Mapping[str, Mapping[str, dict]],
                  baseline: Optional[dict], metric: str = 'MotionError',
                  digits: int = 2) -> List[str]:
    """``metric`` per tercile of the true motion (test split), mean ± half
    range over the seeds of the main arm, with the motion-free baseline."""
    reference = baseline or next(
        (results[r.name]['test'] for r in runs if results[r.name].get('test')), None)
    if reference is None:
        return []
    header = ['model'] + [
        f'{name} ({reference[f"{name}/motion_px_min"]:.1f}-'
        f'{reference[f"{name}/motion_px_max"]:.1f} px)' for name in BINS]
    rows = []
    for family in dict.fromkeys(r.family for r in runs if r.arm == 'main'):
        tests = [results[r.name]['test'] for r in runs
                 if r.arm == 'main' and r.family == family and results[r.name].get('test')]
        rows.append([family, *(mean_spread([t[f'{b}/{metric}'] for t in tests], digits)
                               for b in BINS)])
    if baseline:
        rows.append(['no motion', *(f'{baseline[f"{b}/{metric}"]:.{digits}f}' for b in BINS)])
    return _table(header, rows)


#: the training-step timing of a CPABMM run with these ``--cfg-options``
VARIANT_TIMINGS = (('model.motion.solver=adam', 'CPABMM (Adam solver)'),
                   ('model.motion.detach_keypoints=False', 'CPABMM (keypoints not detached)'))


def variant_timing(run: Run) -> str:
    """The ``timing.json`` entry of ``run``'s training step."""
    return next((label for option, label in VARIANT_TIMINGS if option in run.options),
                run.family)


def ablation_table(runs: Sequence[Run], results: Mapping[str, Mapping[str, dict]],
                   seconds: Mapping[str, float]) -> List[str]:
    """CPABMM variants on the test split: the main runs, the ablation arms,
    and the runs trained with the fast solver evaluated with the Adam solver
    swapped in; with the seconds per training iteration of each variant."""
    rows = []
    for run in runs:
        if run.family != 'CPABMM' or not run.synthetic:
            continue
        step = seconds.get(variant_timing(run))
        for tag, label in (('test', ''), ('test_adam', ', Adam solver at test time')):
            metrics = results[run.name].get(tag)
            if metrics:
                rows.append([f'{run.name}{label}', run.arm,
                             f'{step:.2f}' if step is not None else 'n/a',
                             *(f'{metrics[key]:.{digits}f}' for key, _, digits in COLUMNS),
                             *(f'{metrics[f"{b}/MotionError"]:.2f}' for b in BINS)])
    return _table(['CPABMM run', 'arm', 's / iteration (training)', *(h for _, h, _ in COLUMNS),
                   *(f'motion error, {b} motion' for b in BINS)], rows)


def carphone_table(runs: Sequence[Run], results: Mapping[str, Mapping[str, dict]],
                   baseline: Optional[dict]) -> List[str]:
    """Self-reenactment on the held-out carphone frames."""
    columns = [c for c in COLUMNS if c[0] != 'MotionError']
    rows = [[run.family, *(f'{results[run.name]["test"][key]:.{digits}f}'
                           for key, _, digits in columns)]
            for run in runs if run.arm == 'carphone' and results[run.name].get('test')]
    if baseline:
        rows.append(['no motion (source frame)',
                     *(f'{baseline[key]:.{digits}f}' for key, _, digits in columns)])
    return _table(['model', *(h for _, h, _ in columns)], rows)
