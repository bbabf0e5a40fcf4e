"""The motion-family experiment (docs/results.md): train every run, evaluate
every checkpoint, time the training steps, write the report.

    python tools/experiment.py train [--arms main ablations carphone] [--parallel 2]
    python tools/experiment.py evaluate
    python tools/experiment.py time        # on a quiet machine
    python tools/experiment.py report [--out FILE]

Runs go under ``--work-dir`` (default ``work_dirs/motion_families``), one
folder each. A run or test that finished (its record file exists) is not run
again; nothing is resumed half-way.
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Dict, List

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from cpabmm.benchmarks import config_step_timings
from cpabmm.experiments import ARMS, Run, experiment_runs, run_commands
from cpabmm.experiments.baseline import motion_free_metrics
from cpabmm.experiments.motion_families import CARPHONE_CONFIGS, SYNTHETIC_CONFIGS
from cpabmm.experiments import report
from cpabmm.registry import MODELS
from cpabmm.utils.tool import tool_main


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('stage', choices=['train', 'evaluate', 'time', 'report'])
    parser.add_argument('--arms', nargs='+', default=list(ARMS), choices=list(ARMS))
    parser.add_argument('--work-dir', default='work_dirs/motion_families')
    parser.add_argument('--parallel', type=int, default=2, help='runs at a time')
    parser.add_argument('--threads', type=int, default=1, help='CPU threads per run')
    parser.add_argument('--out', help='report: the markdown file (default: print it)')
    return parser.parse_args(argv)


def say(line: str) -> None:
    print(line, flush=True)


def run_jobs(jobs: list, args: argparse.Namespace) -> None:
    records = run_commands(jobs, args.parallel, args.threads, report=say)
    failed = [r['name'] for r in records if r['returncode'] != 0]
    if failed:
        raise SystemExit(f'error: {len(failed)} job(s) failed: {", ".join(failed)}')


def train(args: argparse.Namespace) -> None:
    jobs = []
    for run in experiment_runs(args.arms):
        folder = osp.join(args.work_dir, run.name)
        jobs.append((run.name, run.train_command(sys.executable, folder),
                     osp.join(folder, 'train.log'), osp.join(folder, 'trained.json')))
    run_jobs(jobs, args)


def final_checkpoint(folder: str) -> str:
    """The run's last checkpoint (MMEngine's ``last_checkpoint`` names it)."""
    with open(osp.join(folder, 'last_checkpoint')) as f:
        return osp.join(folder, osp.basename(f.read().strip()))


def write_json(path: str, value) -> None:
    with open(path + '.part', 'w') as f:
        json.dump(value, f, indent=2)
    os.replace(path + '.part', path)


def evaluate(args: argparse.Namespace) -> None:
    jobs = []
    for run in experiment_runs(args.arms):
        folder = osp.join(args.work_dir, run.name)
        if not osp.exists(osp.join(folder, 'trained.json')):
            say(f'skip   {run.name}: not trained')
            continue
        for tag in run.evaluations():
            command = run.test_command(sys.executable, folder, final_checkpoint(folder), tag)
            jobs.append((f'{run.name}:{tag}', command, osp.join(folder, f'test_{tag}.log'),
                         osp.join(folder, f'eval_{tag}.json')))
    for name, config, split in (('synthetic_test', SYNTHETIC_CONFIGS['CPABMM'], 'test'),
                                ('synthetic_val', SYNTHETIC_CONFIGS['CPABMM'], 'val'),
                                ('carphone_test', CARPHONE_CONFIGS['CPABMM'], None)):
        path = osp.join(args.work_dir, f'baseline_{name}.json')
        if osp.exists(path) or ('carphone' in name and 'carphone' not in args.arms):
            continue
        cfg = Config.fromfile(config)
        if split:
            cfg.test_dataloader.dataset.split = split
        say(f'motion-free baseline on {name}')
        os.makedirs(args.work_dir, exist_ok=True)
        write_json(path, {'metrics': motion_free_metrics(cfg)})
    run_jobs(jobs, args)


def parameter_count(config: str) -> int:
    init_default_scope('cpabmm')
    return sum(p.numel() for p in MODELS.build(Config.fromfile(config).model).parameters())


def time_steps(args: argparse.Namespace) -> None:
    """Seconds per training step of each family (and of the CPABMM ablations:
    the Adam solver, keypoints not detached) on ``--threads`` threads, as
    ``tools/benchmark.py train --configs``."""
    torch.set_num_threads(args.threads)
    timings = config_step_timings(list(SYNTHETIC_CONFIGS.values()), repeats=5)
    seconds = {family: timings[config].wall for family, config in SYNTHETIC_CONFIGS.items()}
    for label, option in (('CPABMM (Adam solver)', {'model.motion.solver': 'adam'}),
                          ('CPABMM (keypoints not detached)',
                           {'model.motion.detach_keypoints': False})):
        config = SYNTHETIC_CONFIGS['CPABMM']
        seconds[label] = config_step_timings([config], repeats=5, options=option)[config].wall
    params = {family: parameter_count(config) for family, config in SYNTHETIC_CONFIGS.items()}
    write_json(osp.join(args.work_dir, 'timing.json'),
               dict(seconds=seconds, params=params, threads=args.threads))
    say(json.dumps(dict(seconds=seconds, params=params), indent=2))


def load_results(runs: List[Run], work_dir: str) -> Dict[str, Dict[str, dict]]:
    return {run.name: {tag: report.read_metrics(osp.join(work_dir, run.name,
                                                         f'metrics_{tag}.json'))
                       for tag in run.evaluations()}
            for run in runs}


def write_report(args: argparse.Namespace) -> None:
    runs = experiment_runs(args.arms)
    results = load_results(runs, args.work_dir)
    baseline = {name: report.read_metrics(osp.join(args.work_dir, f'baseline_{name}.json'))
                for name in ('synthetic_test', 'carphone_test')}
    timing_path = osp.join(args.work_dir, 'timing.json')
    timing = json.load(open(timing_path)) if osp.exists(timing_path) else {}
    sections = [
        ('Test split, mean ± half range over seeds',
         report.family_table(runs, results, baseline['synthetic_test'],
                             timing.get('params', {}), timing.get('seconds', {}))),
        ('Every run (seed chosen on the validation split in bold)',
         report.seed_table(runs, results)),
        ('Motion error (px) per tercile of the true motion',
         report.tercile_table(runs, results, baseline['synthetic_test'])),
        ('L1 per tercile of the true motion',
         report.tercile_table(runs, results, baseline['synthetic_test'], 'L1', 4)),
        ('CPABMM variants', report.ablation_table(runs, results, timing.get('seconds', {}))),
        ('Carphone self-reenactment (held-out frames)',
         report.carphone_table(runs, results, baseline['carphone_test'])),
    ]
    text = '\n'.join(f'### {title}\n\n' + '\n'.join(table) + '\n'
                     for title, table in sections if len(table) > 2)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)
    else:
        print(text)


@tool_main('finished runs are kept; run the same command again to do the rest')
def main(argv=None) -> int:
    args = parse_args(argv)
    {'train': train, 'evaluate': evaluate, 'time': time_steps, 'report': write_report}[
        args.stage](args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
