"""The motion-family experiment (docs/results.md): train every run, evaluate
every checkpoint, write the report.

    python tools/experiment.py train [--arms main ablations carphone] [--parallel 2]
    python tools/experiment.py evaluate
    python tools/experiment.py report --out docs/results.md

Runs go under ``--work-dir`` (default ``work_dirs/motion_families``), one
folder each; a run that finished (its ``trained.json`` exists) is not run
again, nothing is resumed half-way.
"""
import argparse
import os.path as osp
import sys

from cpabmm.experiments import ARMS, experiment_runs, run_commands
from cpabmm.utils.tool import tool_main


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('stage', choices=['train'])
    parser.add_argument('--arms', nargs='+', default=list(ARMS), choices=list(ARMS))
    parser.add_argument('--work-dir', default='work_dirs/motion_families')
    parser.add_argument('--parallel', type=int, default=2, help='runs at a time')
    parser.add_argument('--threads', type=int, default=1, help='CPU threads per run')
    return parser.parse_args(argv)


def train(args) -> None:
    jobs = []
    for run in experiment_runs(args.arms):
        folder = osp.join(args.work_dir, run.name)
        jobs.append((run.name, run.train_command(sys.executable, folder),
                     osp.join(folder, 'train.log'), osp.join(folder, 'trained.json')))
    records = run_commands(jobs, args.parallel, args.threads,
                           report=lambda line: print(line, flush=True))
    failed = [r['name'] for r in records if r['returncode'] != 0]
    if failed:
        raise SystemExit(f'error: {len(failed)} run(s) failed: {", ".join(failed)}')


@tool_main('finished runs are kept; run the same command again to do the rest')
def main(argv=None) -> int:
    args = parse_args(argv)
    {'train': train}[args.stage](args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
