"""The library pieces behind tools/benchmark.py: timing helpers, the fit
timer inside a forward pass, the frozen-loss configs and the convergence
run's config."""
import os.path as osp
import time

import pytest
import torch

from cpabmm.engine.convergence import LossRecorderHook, convergence_config
from cpabmm.engine.train_benchmark import training_config, with_frozen_losses
from cpabmm.timing import CallTimer, Timing, measure

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs')


class Sleeper:
    def nap(self, seconds: float) -> float:
        time.sleep(seconds)
        return seconds


def test_measure_reduces_the_wall_times_and_counts_the_calls():
    calls = []
    timing = measure(lambda: calls.append(time.sleep(0.01)), repeats=3, reduce='median')
    assert len(calls) == 4  # one warm-up
    assert 0.01 <= timing.wall < 1.0
    assert 0 <= timing.cpu < timing.wall  # sleeping takes no CPU time
    with pytest.raises(ValueError, match='reduce must be one of'):
        measure(lambda: None, reduce='max')


def test_call_timer_adds_up_the_wrapped_calls_and_restores_the_method():
    sleeper = Sleeper()
    timer = CallTimer(sleeper, 'nap')
    with timer:
        assert sleeper.nap(0.01) == 0.01
        sleeper.nap(0.02)
    assert timer.calls == 2 and timer.total.wall >= 0.03
    assert 'nap' not in vars(sleeper)  # the class's method again
    sleeper.nap(0.0)
    assert timer.calls == 2
    with pytest.raises(ValueError, match='has no method'):
        CallTimer(sleeper, 'run')


def test_timing_arithmetic():
    assert Timing(1.0, 2.0) + Timing(3.0, 4.0) == Timing(4.0, 6.0)
    assert Timing(4.0, 2.0) / 2 == Timing(2.0, 1.0)


def test_forward_benchmark_times_the_motion_fit_within_the_forward():
    from cpabmm.apis import init_model
    from cpabmm.models import benchmark_forward
    torch.manual_seed(0)
    model = init_model(osp.join(CONFIGS, 'cpabmm', 'cpabmm_k10-small_1xb8-20e_synthetic-64.py'))
    timing = benchmark_forward(model, size=64, repeats=2)
    assert 0 < timing['fit'] < timing['mean'] and 0 < timing['fit_cpu'] < timing['cpu']
    assert 'fit' not in vars(model.motion)


def test_frozen_losses_are_added_with_random_weights():
    cfg = training_config(CONFIGS, 'CPABMM', 64)
    both = with_frozen_losses(cfg, sam='vit_b', dino=True)
    sam = both.model.losses['keypoint_semantic']
    assert sam['type'] == 'KeypointSemanticTerm'
    assert sam['loss']['encoder'] == dict(type='SAMImageEncoder', arch='vit_b', pretrained=False)
    assert both.model.losses['structure']['loss']['backbone']['pretrained'] is False
    assert 'keypoint_semantic' not in cfg.model.losses  # the original is untouched
    assert set(with_frozen_losses(cfg).model.losses) == set(cfg.model.losses)


def test_convergence_config_runs_whole_epochs_without_writing_files(tmp_path):
    cfg = convergence_config(CONFIGS, 'TPSMM', 20, str(tmp_path))
    assert cfg.train_cfg.max_epochs == 2  # 15 iterations an epoch
    assert convergence_config(CONFIGS, 'TPSMM', 300, str(tmp_path)).train_cfg.max_epochs == 20
    assert cfg.default_hooks.checkpoint is None and cfg.work_dir == str(tmp_path)
    assert all(hook['type'] != 'AnimationVisualizationHook' for hook in cfg.custom_hooks)
    with pytest.raises(ValueError, match='unknown model'):
        convergence_config(CONFIGS, 'GAN', 20, str(tmp_path))


def test_loss_recorder_needs_the_total_loss():
    recorder = LossRecorderHook()
    recorder.after_train_iter(None, 0, outputs={'loss': torch.tensor(0.5), 'loss_l1': 0.2})
    assert recorder.losses == [0.5]
    with pytest.raises(ValueError, match='no "loss"'):
        recorder.after_train_iter(None, 1, outputs={'loss_l1': 0.2})
