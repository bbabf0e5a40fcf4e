"""Start-up of the demo (``tools/benchmark.py startup``): how long a fresh
Python process takes to reach each stage, and ``tools/demo.py`` to its first
animated frame.

Every stage runs in a new process (nothing is cached in memory between
them; the operating system's file cache is warm after the first repeat),
and the minimum wall time over the repeats is kept. Stages build on each
other, so the differences between consecutive stages are what each costs.
"""
from __future__ import annotations

import os.path as osp
import subprocess
import sys
import tempfile
from typing import Dict, List, Sequence, Tuple

from cpabmm.utils.environment import child_environment
from .timing import Stopwatch


def stage_programs(model: str, device: str) -> List[Tuple[str, str]]:
    """``(label, Python code)`` of the cumulative start-up stages."""
    imports = 'import cpabmm.apis'
    resolve = ('from cpabmm.zoo import resolve_model; '
               f'config, checkpoint = resolve_model({model!r}, progress=False)')
    build = f'cpabmm.apis.init_model(config, checkpoint, device={device!r})'
    return [
        ('Python', 'pass'),
        ('import torch', 'import torch'),
        ('import cpabmm.apis (torch, MMEngine, registries)', imports),
        ('find and verify the zoo checkpoint (SHA-256)', f'{imports}; {resolve}'),
        ('build the model and load its weights', f'{imports}; {resolve}; {build}'),
    ]


def _wall_seconds(command: Sequence[str], repo: str, repeats: int) -> float:
    best = float('inf')
    for _ in range(repeats):
        with Stopwatch() as watch:
            subprocess.run(command, cwd=repo, env=child_environment(repo), check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        best = min(best, watch.elapsed.wall)
    return best


def startup_seconds(repo: str, model: str, source: str, device: str = 'cpu',
                    repeats: int = 3) -> Dict[str, float]:
    """Seconds from a new process to the end of each stage of
    :func:`stage_programs`, then to the first animated frame of
    ``tools/demo.py`` (``--model model``, ``source`` as the picture and as a
    one-frame driving video, standard mode, written to a temporary file)."""
    seconds = {label: _wall_seconds([sys.executable, '-c', code], repo, repeats)
               for label, code in stage_programs(model, device)}
    with tempfile.TemporaryDirectory() as folder:
        demo = [sys.executable, osp.join(repo, 'tools', 'demo.py'), '--source', source,
                '--driving', source, '--model', model, '--mode', 'standard', '--device',
                device, '--output', osp.join(folder, 'first_frame.mp4')]
        seconds['tools/demo.py: first frame animated and written'] = _wall_seconds(
            demo, repo, repeats)
    return seconds
