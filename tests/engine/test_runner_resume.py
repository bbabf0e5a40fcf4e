"""Train a tiny model with MMEngine's Runner, checkpoint, resume."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from cpabmm.checkpoint import read_checkpoint
from cpabmm.utils.run_state import fresh_run_state

CONFIG = osp.join(osp.dirname(__file__), '..', 'data', 'configs', 'tiny_regressor_runner.py')


@fresh_run_state()
def _train(work_dir, **overrides) -> Runner:
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(work_dir)
    cfg.merge_from_dict(overrides)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def _weights(runner):
    return {k: v.detach().clone() for k, v in runner.model.state_dict().items()}


def test_resume_continues_iterations_weights_and_optimizer(tmp_path):
    full = _train(tmp_path / 'full')
    assert full.iter == 6
    final_weights = _weights(full)
    midway = tmp_path / 'full' / 'iter_3.pth'
    assert osp.isfile(midway)

    # Plain PyTorch safe loading accepts the runner's checkpoint as written.
    raw = torch.load(midway, weights_only=True)
    assert raw['meta']['iter'] == 3
    assert 'loss_mse' in str(raw['message_hub']['log_scalars'].keys())

    resumed = _train(tmp_path / 'resumed', resume=True, load_from=str(midway))
    assert resumed.iter == 6
    for key, value in _weights(resumed).items():
        torch.testing.assert_close(value, final_weights[key], rtol=1e-6, atol=1e-7)
    # The learning-rate schedule continued past its milestone at iter 4.
    assert resumed.optim_wrapper.get_lr()['lr'][0] == pytest.approx(1e-3)
    # The optimizer state was restored, not started afresh.
    state = read_checkpoint(str(tmp_path / 'resumed' / 'iter_6.pth'))
    steps = [s['step'] for s in state['optimizer']['state'].values()]
    assert all(int(step) == 6 for step in steps)
    # Loss history continued from the checkpoint's message hub.
    history = resumed.message_hub.get_scalar('train/loss_mse')
    assert len(history.data[0]) == 6
