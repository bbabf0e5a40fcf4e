"""Frozen backbones: no gradients, eval mode, out of parent checkpoints, clear loading errors."""
import os.path as osp

import pytest
import torch
from mmengine.runner.checkpoint import get_state_dict
from mmengine.runner.checkpoint import load_state_dict as mmengine_load_state_dict
from torch import nn

from cpabmm.models.backbones.frozen import (FrozenBackbone, hub_checkpoint_path, load_exact,
                                            resolve_checkpoint)


class TinyFrozen(FrozenBackbone):

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.norm = nn.BatchNorm2d(4)
        self.freeze()


class Holder(nn.Module):

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(2, 2)
        self.frozen = TinyFrozen()


def test_frozen_has_no_trainable_parameters_and_stays_in_eval_mode():
    holder = Holder()
    holder.train()
    assert holder.head.training
    assert not holder.frozen.training and not holder.frozen.norm.training
    assert not any(p.requires_grad for p in holder.frozen.parameters())
    assert all(p.requires_grad for p in holder.head.parameters())


@pytest.mark.parametrize('state_dict_of', [lambda m: m.state_dict(), get_state_dict])
def test_frozen_entries_are_left_out_of_the_parent_state_dict(state_dict_of):
    keys = set(state_dict_of(Holder()))
    assert keys == {'head.weight', 'head.bias'}
    # called on the backbone itself, the state dict is complete
    assert set(TinyFrozen().state_dict()) == {
        'conv.weight', 'conv.bias', 'norm.weight', 'norm.bias', 'norm.running_mean',
        'norm.running_var', 'norm.num_batches_tracked'}


@pytest.mark.parametrize('loader', ['torch', 'mmengine'])
def test_parent_checkpoint_without_frozen_entries_loads_strictly_and_keeps_the_weights(loader):
    source, target = Holder(), Holder()
    frozen_before = {k: v.clone() for k, v in target.frozen.state_dict().items()}
    checkpoint = source.state_dict()
    if loader == 'torch':
        target.load_state_dict(checkpoint, strict=True)
    else:
        mmengine_load_state_dict(target, checkpoint, strict=True)
    assert torch.equal(target.head.weight, source.head.weight)
    for key, value in target.frozen.state_dict().items():
        assert torch.equal(value, frozen_before[key]), key


def test_parent_checkpoint_with_frozen_entries_loads_them():
    source, target = Holder(), Holder()
    checkpoint = dict(source.state_dict())
    checkpoint.update({f'frozen.{k}': v for k, v in source.frozen.state_dict().items()})
    target.load_state_dict(checkpoint, strict=True)
    assert torch.equal(target.frozen.conv.weight, source.frozen.conv.weight)


def test_missing_file_is_one_line_naming_the_path_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    expected = osp.join(str(tmp_path), 'hub', 'checkpoints', 'net.pth')
    assert hub_checkpoint_path('net.pth') == expected
    with pytest.raises(FileNotFoundError) as error:
        resolve_checkpoint(None, 'net.pth', 'Net', 'download it from X')
    message = str(error.value)
    assert '\n' not in message and expected in message and 'download it from X' in message
    with pytest.raises(FileNotFoundError, match='elsewhere.pth'):
        resolve_checkpoint(str(tmp_path / 'elsewhere.pth'), 'net.pth', 'Net', 'fix')


def test_load_exact_refuses_unexpected_missing_and_misshaped_keys():
    module = nn.Linear(3, 2)
    good = {'weight': torch.ones(2, 3), 'bias': torch.zeros(2)}
    load_exact(module, good, 'file.pth', 'Net')
    assert torch.equal(module.weight, torch.ones(2, 3))
    cases = [
        ({**good, 'extra.weight': torch.ones(1)}, 'has keys that Net does not have \\(extra.weight\\)'),
        ({'weight': torch.ones(2, 3)}, 'lacks keys of Net \\(bias\\)'),
        ({**good, 'weight': torch.ones(4, 3)}, 'weight \\(4, 3\\) vs \\(2, 3\\)'),
    ]
    for state_dict, pattern in cases:
        with pytest.raises(ValueError, match=pattern) as error:
            load_exact(module, state_dict, 'file.pth', 'Net')
        assert '\n' not in str(error.value) and 'file.pth' in str(error.value)
