"""Running many commands, a few at a time, each with its log and timing."""
from __future__ import annotations

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, Optional, Sequence, Tuple

#: ``(name, command, log file, record file)``
Job = Tuple[str, List[str], str, str]


def _run_one(job: Job, env: Dict[str, str], report: Callable[[str], None]) -> dict:
    name, command, log_path, record_path = job
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    report(f'start  {name}: {" ".join(command)}')
    start = time.perf_counter()
    with open(log_path, 'w') as log:
        returncode = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    record = dict(name=name, command=command, returncode=returncode,
                  wall_seconds=round(time.perf_counter() - start, 1),
                  finished=time.strftime('%Y-%m-%d %H:%M:%S'))
    if returncode == 0:
        with open(record_path, 'w') as f:
            json.dump(record, f, indent=2)
    report(f'{"done  " if returncode == 0 else "FAILED"} {name} '
           f'({record["wall_seconds"]:.0f} s{"" if returncode == 0 else f", see {log_path}"})')
    return record


def run_commands(jobs: Sequence[Job], parallel: int, threads: int = 1,
                 report: Callable[[str], None] = print) -> List[dict]:
    """Run ``jobs`` ``parallel`` at a time with ``threads`` CPU threads each,
    skipping those whose record file exists (finished earlier); a record is
    written only when the command succeeds. Returns the new records."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    pending = [job for job in jobs if not os.path.exists(job[3])]
    for job in jobs:
        if job not in pending:
            report(f'skip   {job[0]}: finished earlier ({job[3]})')
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return list(pool.map(lambda job: _run_one(job, env, report), pending))
