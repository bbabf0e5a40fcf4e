"""Deterministic kill points for fault-injection runs of tools/train.py.

Imported through a config's ``custom_imports``. It serves local paths with a
``LocalBackend`` that can die mid-write (the checkpoint hook must be safe
with MMEngine's in-place writes), skips the Runner's environment report (a second of every run,
nothing else) and kills the process with SIGKILL where the ``CPABMM_FAULT``
variable says:

- ``iter:N``: after training iteration N (between two steps);
- ``writing:NAME``: halfway through writing checkpoint NAME's temporary file;
- ``checkpoint:NAME``: checkpoint NAME complete in its temporary file, not
  yet renamed;
- ``pointer:NAME``: ``last_checkpoint`` naming NAME complete in its
  temporary file, not yet renamed.
"""
import os
import os.path as osp
import signal

from mmengine.fileio import LocalBackend
from mmengine.hooks import Hook
from mmengine.runner import Runner

import cpabmm.fileio
from cpabmm.registry import HOOKS
from .local_backend import serve_local_paths

KIND, _, WHERE = os.environ.get('CPABMM_FAULT', '').partition(':')


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class HalfWritingBackend(LocalBackend):
    """MMEngine's LocalBackend that dies halfway through ``writing:NAME``."""

    def put(self, obj: bytes, filepath) -> None:
        if KIND == 'writing' and WHERE in osp.basename(filepath):
            with open(filepath, 'wb') as file:
                file.write(obj[:len(obj) // 2])
            die()
        super().put(obj, filepath)


def before_publish(temporary: str, path: str) -> None:
    if KIND == 'checkpoint' and osp.basename(path) == WHERE:
        die()
    if KIND == 'pointer' and osp.basename(path) == 'last_checkpoint':
        with open(temporary) as file:
            if osp.basename(file.read()) == WHERE:
                die()


@HOOKS.register_module(force=True)
class FaultPointHook(Hook):
    """Dies after the iteration that ``iter:N`` names."""

    priority = 'LOWEST'

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if KIND == 'iter' and runner.iter + 1 == int(WHERE):
            die()


serve_local_paths(HalfWritingBackend)
cpabmm.fileio.before_publish = before_publish
Runner._log_env = lambda runner, env_cfg: None
