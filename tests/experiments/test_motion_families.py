"""The motion-family experiment: its runs, the job queue, the baseline and the report."""
import json
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from cpabmm.datasets import SyntheticMotionDataset
from cpabmm.experiments import Run, experiment_runs, run_commands
from cpabmm.experiments import report
from cpabmm.experiments.baseline import motion_free_metrics
from cpabmm.experiments.motion_families import SYNTHETIC_CONFIGS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_main_arm_gives_every_family_the_same_seeds_and_budget():
    runs = experiment_runs(['main'])
    assert sorted((r.family, r.seed) for r in runs) == sorted(
        (f, s) for f in ('FOMM', 'TPSMM', 'CPABMM') for s in (0, 1))
    budgets = set()
    for family, path in SYNTHETIC_CONFIGS.items():
        cfg = Config.fromfile(osp.join(ROOT, path))
        loader = cfg.train_dataloader
        budgets.add((cfg.train_cfg.max_epochs, loader.batch_size, loader.dataset.num_videos,
                     loader.dataset.size, tuple(cfg.param_scheduler.milestones)))
    assert budgets == {(20, 8, 320, 64, (14, 18))}
    with pytest.raises(ValueError, match='unknown arm'):
        experiment_runs(['mian'])


def test_commands_name_the_seed_options_and_test_splits():
    short, adam, undetached = experiment_runs(['ablations'])
    command = adam.train_command('python', 'w/adam')
    assert command[:4] == ['python', 'tools/train.py', SYNTHETIC_CONFIGS['CPABMM'], '--work-dir']
    assert command[-4:] == ['randomness.seed=0', 'train_cfg.max_epochs=10',
                            'param_scheduler.milestones=[7,9]', 'model.motion.solver=adam']
    assert short.options == adam.options[:-1] == undetached.options[:-1]
    assert adam.evaluations() == {'test': ('model.motion.solver=adam',)}
    assert set(undetached.evaluations()) == {'test'}
    assert short.evaluations()['test_adam'] == ('model.motion.solver=adam',)
    cpabmm, cpabmm_seed1 = (r for r in experiment_runs(['main']) if r.family == 'CPABMM')
    assert cpabmm.evaluations()['test_adam'] == ('model.motion.solver=adam',)
    assert 'test_adam' not in cpabmm_seed1.evaluations()
    assert cpabmm.evaluations()['val'] == ('test_dataloader.dataset.split=val',)
    test = cpabmm.test_command('python', 'w/c', 'w/c/epoch_20.pth', 'test')
    assert '--cfg-options' not in test and test[-2:] == ['--out', 'w/c/metrics_test.json']
    carphone = experiment_runs(['carphone'])
    assert [r.family for r in carphone] == ['FOMM', 'TPSMM', 'CPABMM']
    assert all(set(r.evaluations()) == {'test'} for r in carphone)


def test_queue_records_successes_only_and_skips_them_next_time(tmp_path):
    def job(name, code):
        return (name, [sys.executable, '-c', f'print("{name}"); raise SystemExit({code})'],
                str(tmp_path / name / 'log'), str(tmp_path / name / 'done.json'))

    lines = []
    records = run_commands([job('good', 0), job('bad', 3)], parallel=2, report=lines.append)
    assert {r['name']: r['returncode'] for r in records} == {'good': 0, 'bad': 3}
    assert json.loads((tmp_path / 'good' / 'done.json').read_text())['returncode'] == 0
    assert not (tmp_path / 'bad' / 'done.json').exists()
    assert (tmp_path / 'bad' / 'log').read_text().strip() == 'bad'
    assert any(line.startswith('FAILED bad') for line in lines)
    again = run_commands([job('good', 0)], parallel=1, report=lines.append)
    assert again == [] and lines[-1].startswith('skip   good')


def test_motion_free_baseline_scores_the_source_frame_with_no_motion():
    cfg = Config.fromfile(osp.join(ROOT, SYNTHETIC_CONFIGS['TPSMM']))
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.test_dataloader.dataset.update(num_videos=1, num_frames=6)
    metrics = motion_free_metrics(cfg)
    dataset = SyntheticMotionDataset(size=64, split='test', num_videos=1, num_frames=6,
                                     test_mode=True)
    l1, motion = [], []
    for item in (dataset[i] for i in range(len(dataset))):
        l1.append(np.abs(item['source'] - item['driving']).mean())
        both = item['kp_source_visible'] & item['kp_driving_visible']
        step = (item['kp_driving'] - item['kp_source'])[both] * 63 / 2
        if len(step):
            motion.append(np.linalg.norm(step, axis=-1).mean())
    assert metrics['L1'] == pytest.approx(np.mean(l1), rel=1e-5)
    assert metrics['MotionError'] == pytest.approx(np.mean(motion), rel=1e-4)
    assert metrics['large/MotionError'] >= metrics['small/MotionError']


def results_of(values):
    """Two seeds per family with the given (val, test) motion errors."""
    runs, results = [], {}
    for family, pairs in values.items():
        for seed, (val, test) in enumerate(pairs):
            run = Run(f'{family}-{seed}', 'main', family, 'c.py', seed)
            runs.append(run)
            test_metrics = {'MotionError': test, 'L1': 0.1, 'PSNR': 20., 'SSIM': 0.5}
            for name in report.BINS:
                test_metrics.update({f'{name}/MotionError': test, f'{name}/L1': 0.1,
                                     f'{name}/motion_px_min': 1., f'{name}/motion_px_max': 2.})
            results[run.name] = {'val': {'MotionError': val}, 'test': test_metrics}
    return runs, results


def test_report_picks_seeds_on_validation_and_averages_over_seeds():
    runs, results = results_of({'TPSMM': [(5., 1.), (4., 9.)], 'CPABMM': [(3., 2.), (6., 4.)]})
    best = report.best_runs(runs, results)
    assert best['TPSMM'].name == 'TPSMM-1'          # lower on val, though worse on test
    assert best['CPABMM'].name == 'CPABMM-0'
    table = '\n'.join(report.family_table(runs, results, None, {'TPSMM': 1_700_000}, {}))
    assert '| TPSMM | 1.70 M | n/a | 2 | 5.00 ± 4.00 |' in table
    assert '| CPABMM | 0.00 M | n/a | 2 | 3.00 ± 1.00 |' in table
    assert '**TPSMM-1**' in '\n'.join(report.seed_table(runs, results))


def test_mean_spread():
    assert report.mean_spread([1.0, 3.0], 1) == '2.0 ± 1.0'
    assert report.mean_spread([2.5], 2) == '2.50'
    assert report.mean_spread([], 2) == 'n/a'


def test_report_tables_keep_carphone_runs_apart_and_time_each_variant():
    runs, results = results_of({'CPABMM': [(3., 2.)]})
    carphone = Run('cpabmm-carphone-seed0', 'carphone', 'CPABMM', 'c.py', 0)
    adam = Run('cpabmm-adam', 'ablation', 'CPABMM', 'c.py', 0, ('model.motion.solver=adam',))
    runs += [carphone, adam]
    results[carphone.name] = {'test': {'L1': 0.04, 'PSNR': 24., 'SSIM': 0.7}}
    results[adam.name] = {'test': results['CPABMM-0']['test']}
    assert 'carphone' not in '\n'.join(report.seed_table(runs, results))
    rows = report.ablation_table(runs, results, {'CPABMM': 1.0, 'CPABMM (Adam solver)': 1.5})
    assert rows[2].startswith('| CPABMM-0 | main | 1.00 |')
    assert rows[3].startswith('| cpabmm-adam | ablation | 1.50 |')
    assert len(rows) == 4
    assert '| CPABMM | 0.0400 | 24.00 | 0.700 |' in '\n'.join(
        report.carphone_table(runs, results, None))
