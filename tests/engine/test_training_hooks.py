"""Training hooks: epoch setter, NaN/inf guard, visualisation images."""
import pytest
import torch
from mmengine.visualization import Visualizer
from torch import nn

from cpabmm.engine import (AnimationVisualizationHook, NonFiniteLossError, NonFiniteLossHook,
                           SetEpochHook)


class FakeRunner:
    def __init__(self, model, iteration=0, epoch=0):
        self.model, self.iter, self.epoch = model, iteration, epoch


class WithEpoch(nn.Module):
    def __init__(self):
        super().__init__()
        self.epoch, self.loss_guard = None, None
        self.norm = nn.BatchNorm1d(2)

    def set_epoch(self, epoch):
        self.epoch = epoch


def test_set_epoch_hook():
    model = WithEpoch()
    SetEpochHook().before_train_epoch(FakeRunner(model, epoch=7))
    assert model.epoch == 7
    with pytest.raises(TypeError, match='needs a model with set_epoch'):
        SetEpochHook().before_train_epoch(FakeRunner(nn.Linear(1, 1)))


def guard(action):
    model = WithEpoch()
    hook = NonFiniteLossHook(action)
    hook.before_train(FakeRunner(model))
    hook.before_train_iter(FakeRunner(model, iteration=11, epoch=2), 0)
    assert model.loss_guard is hook
    return hook, model


def test_guard_passes_finite_terms_and_names_the_bad_ones():
    hook, _ = guard('stop')
    assert hook({'loss_a': torch.tensor(1.), 'loss_b': torch.tensor(0.)})
    with pytest.raises(NonFiniteLossError,
                       match=r'at iteration 12 \(epoch 3\): loss_b=inf; stopped before the '):
        hook({'loss_a': torch.tensor(1.), 'loss_b': torch.tensor(float('inf'))})


def test_guard_skip_counts_and_refuses_when_buffers_are_poisoned():
    hook, model = guard('skip')
    assert not hook({'loss_a': torch.tensor(float('nan'))})
    assert hook.skipped == 1
    model.norm.running_mean.fill_(float('nan'))
    with pytest.raises(NonFiniteLossError, match=r'non-finite buffers \(norm.running_mean\)'):
        hook({'loss_a': torch.tensor(float('nan'))})
    with pytest.raises(ValueError, match="action must be one of"):
        NonFiniteLossHook('ignore')


def test_visualization_hook_needs_the_animation_visualizer():
    runner = FakeRunner(WithEpoch())
    runner.visualizer = Visualizer(name='plain_visualizer')
    with pytest.raises(TypeError, match="set visualizer = dict\\(type='AnimationVisualizer'"):
        AnimationVisualizationHook().before_train(runner)
