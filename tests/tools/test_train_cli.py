"""tools/train.py: training, auto-resume and config errors from the CLI."""
import contextlib
import io
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
from tests.runner_clock import TIMESTAMP, same_second
from tests.tools.loading import load_tool

from cpabmm.engine.config import load_config
from cpabmm.utils.environment import child_environment

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_regressor_runner.py')


def run_train(*args):
    return subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), CONFIG, *args],
                          cwd=ROOT, env=child_environment(ROOT), capture_output=True, text=True,
                          timeout=300)


def test_train_then_auto_resume(tmp_path):
    first = run_train('--work-dir', str(tmp_path), '--cfg-options', 'train_cfg.max_iters=3')
    assert first.returncode == 0, first.stderr[-2000:]
    assert osp.isfile(tmp_path / 'iter_3.pth')

    second = run_train('--work-dir', str(tmp_path), '--resume')
    assert second.returncode == 0, second.stderr[-2000:]
    checkpoint = torch.load(tmp_path / 'iter_6.pth', weights_only=True)
    assert checkpoint['meta']['iter'] == 6
    assert 'Advance dataloader 3 steps' in second.stdout + second.stderr


def test_two_runs_in_one_process_in_the_same_second(tmp_path, capsys, monkeypatch):
    """Each run logs its own iterations to its own log file and to the stdout
    of its time, not through the first run's handlers (stream closed by now)."""
    same_second(monkeypatch)
    train = load_tool('train')
    with contextlib.redirect_stdout(io.StringIO()) as first_stdout:
        assert train.main([CONFIG, '--work-dir', str(tmp_path / 'first')]) == 0
    first_stdout.close()
    capsys.readouterr()
    assert train.main([CONFIG, '--work-dir', str(tmp_path / 'second')]) == 0
    captured = capsys.readouterr()
    assert 'Logging error' not in captured.err
    assert captured.out.count('Iter(train)') == 6
    for run in ('first', 'second'):
        with open(tmp_path / run / TIMESTAMP / f'{TIMESTAMP}.log') as log:
            assert log.read().count('Iter(train)') == 6, run


def test_unknown_override_key_is_one_line_error(tmp_path, capsys):
    code = load_tool('train').main(
        [CONFIG, '--work-dir', str(tmp_path), '--cfg-options', 'train_cfg.max_itres=3'])
    assert code == 2
    message = capsys.readouterr().err.strip().splitlines()
    assert len(message) == 1
    assert "unknown config key 'train_cfg.max_itres'" in message[0]
    assert "did you mean 'max_iters'" in message[0]


def test_missing_resume_checkpoint(tmp_path, capsys):
    code = load_tool('train').main(
        [CONFIG, '--work-dir', str(tmp_path), '--resume', str(tmp_path / 'nope.pth')])
    assert code == 2
    assert 'checkpoint not found' in capsys.readouterr().err


def recorded_iteration(work_dir) -> int:
    """The iteration of the checkpoint that ``last_checkpoint`` names (0
    before the first): a checkpoint file is complete before the record names
    it, so a kill between the two leaves the record at the one before."""
    record = work_dir / 'last_checkpoint'
    if not record.is_file():
        return 0
    found = re.search(r'iter_(\d+)\.pth$', record.read_text().strip())
    return int(found.group(1)) if found else 0


def test_sigkill_mid_run_then_resume_continues(tmp_path):
    command = [
        sys.executable, osp.join(ROOT, 'tools', 'train.py'), CONFIG, '--work-dir', str(tmp_path),
        '--cfg-options', 'train_cfg.max_iters=30', 'custom_hooks.1.seconds=0.1'
    ]
    run = subprocess.Popen(command, cwd=ROOT, env=child_environment(ROOT),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while recorded_iteration(tmp_path) < 6 and time.time() < deadline:
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)
    run.wait()
    with open(tmp_path / 'last_checkpoint') as f:
        latest = f.read().strip()
    killed_at = torch.load(latest, weights_only=True)['meta']['iter']
    assert 6 <= killed_at < 30

    resumed = run_train('--work-dir', str(tmp_path), '--resume',
                        '--cfg-options', 'train_cfg.max_iters=30')
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f'Advance dataloader {killed_at} steps' in resumed.stdout + resumed.stderr
    final = torch.load(tmp_path / 'iter_30.pth', weights_only=True)
    steps = {int(s['step']) for s in final['optimizer']['state'].values()}
    assert steps == {30}


def test_two_process_gloo_training_keeps_ranks_in_sync(tmp_path):
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    env = child_environment(ROOT, PORT=str(port), PYTHON=sys.executable, OMP_NUM_THREADS='1')
    result = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), CONFIG, '2', '--work-dir', str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rank0 = torch.load(tmp_path / 'weights_rank0.pt', weights_only=True)
    rank1 = torch.load(tmp_path / 'weights_rank1.pt', weights_only=True)
    initial = torch.load(tmp_path / 'iter_3.pth', weights_only=True)['state_dict']
    for key in rank0:
        torch.testing.assert_close(rank0[key], rank1[key], rtol=0, atol=0)
    assert any(not torch.equal(rank0[k], initial[k]) for k in rank0)


def test_amp_sets_bfloat16_autocast_for_animation_models():
    train = load_tool('train')
    cfg = load_config(osp.join(ROOT, 'configs', 'cpabmm',
                               'cpabmm_k10-lite_1xb8-40e_synthetic-64.py'))
    train.apply_amp(cfg)
    assert cfg.model.mixed_precision == 'bfloat16'


def test_amp_for_other_models_needs_cuda(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip('the CPU-only refusal')
    code = load_tool('train').main([CONFIG, '--work-dir', str(tmp_path), '--amp'])
    assert code == 2
    message = capsys.readouterr().err.strip().splitlines()
    assert len(message) == 1 and '--amp needs a CUDA device' in message[0]
