"""AtomicCheckpointHook: a failed write loses no checkpoint, leftovers of
killed runs are removed, MMEngine's keeping rules hold. Every run writes
through MMEngine's plain LocalBackend, which writes in place."""
import errno
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.fileio import LocalBackend
from mmengine.runner import Runner

from cpabmm.engine import AtomicCheckpointHook
from cpabmm.utils.run_state import fresh_run_state
from .local_backend import restored_local_backend, serve_local_paths

CONFIG = osp.join(osp.dirname(__file__), '..', 'data', 'configs', 'tiny_regressor_runner.py')


@pytest.fixture(autouse=True)
def local_backend():
    with restored_local_backend():
        yield


@fresh_run_state()
def train(work_dir, max_epochs: int, resume: bool = False, **checkpoint) -> None:
    """The tiny regressor, by epochs (6 iterations each), checkpoint hook of
    the default runtime with ``checkpoint`` options."""
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(work_dir)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
    cfg.merge_from_dict({'resume': resume, 'default_hooks.checkpoint': dict(
        dict(by_epoch=True, interval=1, max_keep_ckpts=1), **checkpoint)})
    Runner.from_cfg(cfg).train()


def checkpoints(work_dir):
    return sorted(path.name for path in work_dir.glob('*.pth'))


def latest(work_dir) -> str:
    return osp.basename((work_dir / 'last_checkpoint').read_text())


class FailsAtEpoch3(LocalBackend):
    """Raises ``error`` writing the third epoch's checkpoint."""

    error: BaseException = OSError(errno.ENOSPC, 'No space left on device')

    def put(self, obj: bytes, filepath) -> None:
        if 'epoch_3.pth' in osp.basename(filepath):
            raise self.error
        super().put(obj, filepath)


def test_the_default_runtime_uses_the_atomic_hook():
    cfg = Config.fromfile(CONFIG)
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'


@pytest.mark.parametrize('error', [OSError(errno.ENOSPC, 'No space left on device'),
                                   KeyboardInterrupt()], ids=['full-disk', 'ctrl-c'])
def test_a_failed_write_keeps_the_latest_checkpoint_and_resume_goes_on(
        tmp_path, monkeypatch, error):
    monkeypatch.setattr(FailsAtEpoch3, 'error', error)
    serve_local_paths(FailsAtEpoch3)
    with pytest.raises(type(error)):
        train(tmp_path, max_epochs=3)
    # MMEngine's CheckpointHook deletes epoch_2.pth before writing epoch_3.pth.
    assert checkpoints(tmp_path) == ['epoch_2.pth'] and latest(tmp_path) == 'epoch_2.pth'
    assert not list(tmp_path.glob('.*'))
    serve_local_paths(LocalBackend)
    train(tmp_path, max_epochs=3, resume=True)
    assert checkpoints(tmp_path) == ['epoch_3.pth'] and latest(tmp_path) == 'epoch_3.pth'


def test_interval_max_keep_ckpts_and_save_last_as_in_mmengine(tmp_path):
    train(tmp_path, max_epochs=5, interval=2, max_keep_ckpts=2, save_last=True)
    assert checkpoints(tmp_path) == ['epoch_4.pth', 'epoch_5.pth']
    assert latest(tmp_path) == 'epoch_5.pth'
    checkpoint = torch.load(tmp_path / 'epoch_5.pth', weights_only=True)
    assert checkpoint['meta']['epoch'] == 5 and 'random_state' in checkpoint


def test_leftovers_of_killed_runs_are_removed_at_start(tmp_path):
    train(tmp_path, max_epochs=2)
    # A run killed while writing epoch_3.pth and last_checkpoint, after one
    # killed before deleting the epoch_1.pth it retired; a file of the user's.
    leftovers = ['.epoch_3.pth.k2j4x9ab.tmp', '.last_checkpoint.0aq1m3zz.tmp', 'epoch_1.pth']
    for name in leftovers:
        (tmp_path / name).write_bytes(b'partial')
    (tmp_path / '.notes.tmp').write_text('mine')
    train(tmp_path, max_epochs=3, resume=True)
    assert not any((tmp_path / name).exists() for name in leftovers)
    assert (tmp_path / '.notes.tmp').read_text() == 'mine'
    assert checkpoints(tmp_path) == ['epoch_3.pth']


@pytest.mark.parametrize('option', [dict(save_best='loss'), dict(published_keys=['meta'])])
def test_files_mmengine_writes_itself_are_refused(option):
    with pytest.raises(ValueError, match='use CheckpointHook'):
        AtomicCheckpointHook(**option)
