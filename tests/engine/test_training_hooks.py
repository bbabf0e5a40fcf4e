"""Training hooks: epoch setter, NaN/inf guard, visualisation images."""
import numpy as np
import pytest
import torch
from torch import nn

from cpabmm.engine import NonFiniteLossError, NonFiniteLossHook, SetEpochHook
from cpabmm.engine.hooks.visualization_hook import animation_grid, draw_keypoints


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


def test_keypoints_are_drawn_where_grid_sample_puts_them():
    image = np.zeros((9, 9, 3), np.uint8)
    drawn = draw_keypoints(image, torch.tensor([[-1., -1.], [1., 0.]]), filled=True)
    assert drawn[0, 0].any() and drawn[4, 8].any()  # (x, y) = (-1, -1) and (1, 0)
    assert not drawn[8, 0].any() and not image.any()


def test_animation_grid_has_one_row_per_sample_and_five_columns():
    batch, size = 3, 32
    visuals = {name: torch.rand(batch, 3, size, size) for name in ('source', 'driving',
                                                                   'prediction')}
    visuals.update(kp_source={'value': torch.zeros(batch, 10, 2)},
                   kp_driving={'value': torch.zeros(batch, 10, 2)},
                   occlusion=[torch.rand(batch, 1, 8, 8), torch.ones(batch, 1, 16, 16)])
    grid = animation_grid(visuals, min_size=64)
    assert grid.shape == (3 * 64, 5 * 64, 3) and grid.dtype == np.uint8
    assert (grid[:, -64:] == 255).all()  # the finest occlusion mask (all ones), in grey
    prediction = (visuals['prediction'][0].permute(1, 2, 0) * 255).round().byte().numpy()
    np.testing.assert_array_equal(grid[:64:2, 128:192:2], prediction)  # enlarged x2, nearest
