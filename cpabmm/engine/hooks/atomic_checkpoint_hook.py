"""MMEngine's CheckpointHook without its windows of lost checkpoints."""
import glob
import os
import os.path as osp
import re
from typing import List

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook

from cpabmm.fileio import atomic_path, atomic_write, stale_temporaries
from cpabmm.registry import HOOKS

#: the message hub's list of checkpoints to delete once the latest is in place
OUTDATED_KEY = 'outdated_ckpt_ids'


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """:class:`~mmengine.hooks.CheckpointHook` (same arguments) for local
    folders, safe against a kill at any moment.

    A checkpoint and then ``last_checkpoint`` are written to temporary files
    in their folders, flushed to disk and renamed into place
    (:func:`cpabmm.fileio.atomic_path`); only then are the checkpoints beyond
    ``max_keep_ckpts`` deleted. ``--resume`` therefore always finds the
    checkpoint ``last_checkpoint`` names, complete. At the start of training
    the hook removes the temporary files of killed runs and the outdated
    checkpoints that a run killed before deleting them left behind (the
    resumed checkpoint lists them). ``save_best`` and ``published_keys``,
    whose files MMEngine writes itself, are refused: use ``CheckpointHook``
    for them.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        if self.save_best is not None or self.published_keys is not None:
            raise ValueError('AtomicCheckpointHook does not write best or published '
                             'checkpoints; use CheckpointHook for save_best and published_keys')

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if not isinstance(self.file_backend, LocalBackend):
            raise ValueError(f'AtomicCheckpointHook writes to local folders only, not '
                             f'{self.out_dir}; use CheckpointHook')
        if is_main_process():
            self._remove_leftovers(runner)

    def _remove_leftovers(self, runner) -> None:
        names = re.sub(r'\{[^}]*\}', '*', glob.escape(self.filename_tmpl))
        leftovers = (stale_temporaries(self.out_dir, names)
                     + stale_temporaries(runner.work_dir, 'last_checkpoint'))
        for step in runner.message_hub.get_info(OUTDATED_KEY, []):
            leftovers.append(self._path(step))
        for path in leftovers:
            if osp.isfile(path):
                os.remove(path)

    def _path(self, step: int) -> str:
        return osp.join(self.out_dir, self.filename_tmpl.format(step))

    def _outdated(self, runner, step: int) -> List[int]:
        """Record ``step`` among the kept checkpoints; return those it retires."""
        if self.max_keep_ckpts <= 0 or (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            return []
        outdated = []
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            outdated.append(self.keep_ckpt_ids.popleft())
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        return outdated

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        outdated = self._outdated(runner, step)
        runner.message_hub.update_info(OUTDATED_KEY, outdated)
        self.last_ckpt = self._path(step)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        if not is_main_process():  # Runner.save_checkpoint writes on the main process only
            return
        with atomic_path(self.last_ckpt) as temporary:
            runner.save_checkpoint(
                self.out_dir, osp.basename(temporary), self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler, meta=meta,
                by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        with atomic_write(osp.join(runner.work_dir, 'last_checkpoint')) as file:
            file.write(self.last_ckpt)
        for old in outdated:
            if osp.isfile(self._path(old)):
                os.remove(self._path(old))
