"""Two CPU processes (gloo) train the animator in step (tools/dist_train.sh)."""
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch

from cpabmm.utils.environment import child_environment
from tests.models.test_training import TINY_RUN, TPSMM_LITE, tiny_config

BATCHNORM_STATISTICS = ('running_mean', 'running_var', 'num_batches_tracked')
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_processes_train_the_animator_in_sync(tmp_path):
    cfg = tiny_config(TPSMM_LITE, **{**TINY_RUN, 'train_cfg.max_epochs': 2,
                                     'default_hooks.checkpoint.interval': 1})
    cfg.custom_hooks.append(dict(type='RankWeightsDumpHook'))
    config = tmp_path / 'tiny_animator.py'
    # the tiny parts over the real config (a dump would lose float('inf') clipping)
    lines = [f"_base_ = [{osp.join(ROOT, 'configs', TPSMM_LITE)!r}]",
             "custom_imports = dict(imports=['tests.engine.tiny_components'], "
             "allow_failed_imports=False)"]
    for key in ('model', 'train_dataloader', 'train_cfg', 'default_hooks'):
        lines.append(f'{key} = {dict(cfg[key].to_dict(), _delete_=True)!r}')
    lines.append(f'custom_hooks = {cfg.custom_hooks!r}')
    lines += [f'{key} = None' for key in ('test_dataloader', 'test_cfg', 'test_evaluator')]
    config.write_text('\n'.join(lines) + '\n')
    env = child_environment(ROOT, PORT=str(free_port()), PYTHON=sys.executable,
                            OMP_NUM_THREADS='1')
    result = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), str(config), '2',
         '--work-dir', str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rank0 = torch.load(tmp_path / 'weights_rank0.pt', weights_only=True)
    rank1 = torch.load(tmp_path / 'weights_rank1.pt', weights_only=True)
    first = torch.load(tmp_path / 'epoch_1.pth', weights_only=True)['state_dict']
    # parameters agree exactly; BatchNorm statistics are per process, as with DDP
    parameters = [key for key in rank0 if not key.endswith(BATCHNORM_STATISTICS)]
    assert len(parameters) > 0.8 * len(rank0)
    for key in parameters:
        torch.testing.assert_close(rank0[key], rank1[key], rtol=0, atol=0, msg=key)
    assert any(not torch.equal(rank0[key], first[key]) for key in rank0)
