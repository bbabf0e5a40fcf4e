"""tools/train.py: training, auto-resume and config errors from the CLI."""
import os
import os.path as osp
import subprocess
import sys

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_regressor_runner.py')


def run_train(*args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), CONFIG, *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_train_then_auto_resume(tmp_path):
    first = run_train('--work-dir', str(tmp_path), '--cfg-options', 'train_cfg.max_iters=3')
    assert first.returncode == 0, first.stderr[-2000:]
    assert osp.isfile(tmp_path / 'iter_3.pth')

    second = run_train('--work-dir', str(tmp_path), '--resume')
    assert second.returncode == 0, second.stderr[-2000:]
    checkpoint = torch.load(tmp_path / 'iter_6.pth', weights_only=True)
    assert checkpoint['meta']['iter'] == 6
    assert 'Advance dataloader 3 steps' in second.stdout + second.stderr


def test_unknown_override_key_is_one_line_error(tmp_path):
    result = run_train('--work-dir', str(tmp_path), '--cfg-options', 'train_cfg.max_itres=3')
    assert result.returncode == 2
    message = result.stderr.strip().splitlines()
    assert len(message) == 1
    assert "unknown config key 'train_cfg.max_itres'" in message[0]
    assert "did you mean 'max_iters'" in message[0]


def test_missing_resume_checkpoint(tmp_path):
    result = run_train('--work-dir', str(tmp_path), '--resume', str(tmp_path / 'nope.pth'))
    assert result.returncode == 2
    assert 'checkpoint not found' in result.stderr
