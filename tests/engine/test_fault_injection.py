"""SIGKILL a training run at 8 moments, resuming it each time with
``--resume``: no checkpoint is ever truncated or lost, no temporary file
stays, and the final weights equal those of an uninterrupted run bit for bit.

The runs are ``tools/train.py`` processes of a tiny TPSMM (3 epochs of 2
iterations, a checkpoint every epoch, only the last one kept) writing through
MMEngine's plain LocalBackend; tests/engine/fault_points.py kills them. The
first epoch has no earlier checkpoint to replace, the second has one; later
epochs would repeat these cases."""
import os.path as osp
import signal
import subprocess
import sys

import pytest
import torch

from cpabmm.utils.environment import child_environment

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join('tests', 'data', 'configs', 'tpsmm_tiny_faults.py')
EPOCHS = 3


def faults():
    """``(CPABMM_FAULT, the epoch of the latest complete checkpoint then)``:
    in each of the first 2 epochs, between two steps (after its first, the
    previous epoch's checkpointing complete, or after its last), halfway
    through its checkpoint, with the checkpoint complete but not renamed,
    with last_checkpoint complete but not renamed."""
    for epoch in range(1, EPOCHS):
        yield f'iter:{2 * epoch - epoch % 2}', epoch - 1
        for kind in ('writing', 'checkpoint', 'pointer'):
            yield f'{kind}:epoch_{epoch}.pth', epoch - 1


def start(work_dir, fault: str = '') -> subprocess.Popen:
    """``tools/train.py --resume`` of the tiny config, killed where ``fault``
    says; its error output goes to ``<work_dir>.stderr``."""
    command = [sys.executable, 'tools/train.py', CONFIG, '--work-dir', str(work_dir), '--resume',
               '--cfg-options', f'train_cfg.max_epochs={EPOCHS}']
    env = child_environment(ROOT, OMP_NUM_THREADS='1', CPABMM_FAULT=fault)
    with open(f'{work_dir}.stderr', 'w') as errors:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=errors)


def finish(run: subprocess.Popen, work_dir) -> tuple:
    """``(exit status, the end of its error output)``; kills it after 2 minutes."""
    try:
        run.wait(timeout=120)
    except subprocess.TimeoutExpired:
        run.kill()
        raise
    with open(f'{work_dir}.stderr') as errors:
        return run.returncode, errors.read()[-3000:]


def latest_epoch(work_dir) -> int:
    """The epoch of the checkpoint last_checkpoint names (0 when none); it loads."""
    pointer = work_dir / 'last_checkpoint'
    if not pointer.exists():
        return 0
    return torch.load(pointer.read_text(), weights_only=True)['meta']['epoch']


@pytest.mark.slow
def test_kills_at_any_moment_lose_nothing_and_change_nothing(tmp_path):
    reference, work_dir = tmp_path / 'uninterrupted', tmp_path / 'killed'
    points = list(faults())
    assert len(points) == 4 * (EPOCHS - 1)
    uninterrupted = start(reference)  # alongside the killed runs
    for fault, expected in points:
        status, errors = finish(start(work_dir, fault), work_dir)
        assert status == -signal.SIGKILL, f'{fault}: {errors}'
        assert latest_epoch(work_dir) == expected, fault
        for path in work_dir.glob('*.pth'):
            torch.load(path, weights_only=True)  # complete, safe to load
    for run, folder in ((start(work_dir), work_dir), (uninterrupted, reference)):
        status, errors = finish(run, folder)
        assert status == 0, errors
    assert sorted(path.name for path in work_dir.glob('*.pth')) == [f'epoch_{EPOCHS}.pth']
    assert not list(work_dir.rglob('*.tmp'))
    final = torch.load(work_dir / f'epoch_{EPOCHS}.pth', weights_only=True)['state_dict']
    expected = torch.load(reference / f'epoch_{EPOCHS}.pth', weights_only=True)['state_dict']
    assert final.keys() == expected.keys()
    for name, value in expected.items():
        assert torch.equal(final[name], value), name
