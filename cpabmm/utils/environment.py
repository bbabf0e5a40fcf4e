"""Environments for child processes: this process's own, extended."""
import os
from typing import Dict, Optional


def child_environment(python_path: Optional[str] = None, **variables: str) -> Dict[str, str]:
    """A copy of ``os.environ`` with ``variables`` set and ``python_path``
    put first on ``PYTHONPATH``, whose entries stay after it (a machine may
    provide the dependencies through them)."""
    env = dict(os.environ, **variables)
    if python_path is not None:
        env['PYTHONPATH'] = os.pathsep.join(
            entry for entry in (python_path, env.get('PYTHONPATH')) if entry)
    return env
