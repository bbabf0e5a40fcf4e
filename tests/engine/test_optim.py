"""Per-module optimiser wrappers: construction and module-wise clipping."""
import math

import pytest
import torch
from mmengine.optim import OptimWrapperDict
from torch import nn

from cpabmm.engine import ModuleClipOptimWrapper, ModuleOptimWrapperConstructor

ADAM = dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))


class ThreeParts(nn.Module):
    def __init__(self, with_c=True):
        super().__init__()
        self.a = nn.Linear(2, 2)
        self.b = nn.Linear(2, 2)
        self.c = nn.Linear(2, 2) if with_c else None
        self.frozen = nn.Linear(2, 2).requires_grad_(False)
        self.nested = nn.ModuleDict({'d': nn.Linear(2, 1)})


def build(model, **wrappers):
    return ModuleOptimWrapperConstructor(dict(wrappers))(model)


def test_one_wrapper_per_group_with_one_parameter_group_per_module():
    model = ThreeParts()
    wrappers = build(model, main=dict(modules=['a', 'b'], optimizer=ADAM),
                     other=dict(modules=['nested.d', 'frozen'], optimizer=ADAM))
    assert isinstance(wrappers, OptimWrapperDict) and set(wrappers.keys()) == {'main', 'other'}
    groups = wrappers['main'].optimizer.param_groups
    assert [g['module'] for g in groups] == ['a', 'b']
    assert groups[0]['params'] == list(model.a.parameters())
    # the frozen module has no trainable parameter, so no group
    assert [g['module'] for g in wrappers['other'].optimizer.param_groups] == ['nested.d']


def test_modules_the_model_sets_to_none_are_left_out():
    wrappers = build(ThreeParts(with_c=False), main=dict(modules=['a'], optimizer=ADAM),
                     gone=dict(modules=['c'], optimizer=ADAM))
    assert set(wrappers.keys()) == {'main'}


@pytest.mark.parametrize('wrappers, message', [
    (dict(main=dict(modules=['e'], optimizer=ADAM)), "names module 'e', which ThreeParts"),
    (dict(x=dict(modules=['a'], optimizer=ADAM), y=dict(modules=['a', 'b'], optimizer=ADAM)),
     "a parameter of 'a' is in optim_wrapper.x and optim_wrapper.y"),
    (dict(main=dict(modules=['a'])), r"optim_wrapper.main needs \['optimizer'\]"),
    (dict(main=dict(modules=['a'], optimizer=ADAM, type='AmpOptimWrapper')),
     'AmpOptimWrapper scales the loss per optimiser'),
    (dict(type='AmpOptimWrapper', main=dict(modules=['a'], optimizer=ADAM)),
     'AmpOptimWrapper scales the loss per optimiser'),
    (dict(type='OptimWrapper', main=dict(modules=['a'], optimizer=ADAM,
                                         type='ModuleClipOptimWrapper')),
     "optim_wrapper.type='OptimWrapper' conflicts with optim_wrapper.main.type"),
])
def test_bad_configs_are_one_line_errors(wrappers, message):
    with pytest.raises(ValueError, match=message):
        build(ThreeParts(), **wrappers)


def test_paramwise_cfg_is_refused():
    with pytest.raises(ValueError, match='does not take paramwise_cfg'):
        ModuleOptimWrapperConstructor(dict(main=dict(modules=['a'], optimizer=ADAM)),
                                      paramwise_cfg=dict(norm_decay_mult=0))


def test_clipping_is_per_module_and_only_for_the_listed_ones():
    model = ThreeParts()
    wrappers = build(model, main=dict(
        type='ModuleClipOptimWrapper', modules=['a', 'b', 'c'], clip_modules=['a', 'b'],
        optimizer=dict(type='SGD', lr=1.0), clip_grad=dict(max_norm=10, norm_type=math.inf)))
    wrapper = wrappers['main']
    assert isinstance(wrapper, ModuleClipOptimWrapper)
    grads = {'a': 100., 'b': 5., 'c': 100.}  # largest |gradient| in each module
    before = {}
    for name, peak in grads.items():
        for p in getattr(model, name).parameters():
            p.grad = torch.full_like(p, peak / 2)
            p.grad.view(-1)[0] = -peak
            before[p] = (p.detach().clone(), p.grad.clone())
    wrapper.step()
    for name, peak in grads.items():
        scale = min(1., 10. / peak) if name in ('a', 'b') else 1.
        for p in getattr(model, name).parameters():
            start, grad = before[p]
            torch.testing.assert_close(p.detach(), start - scale * grad)


def test_clip_modules_must_be_modules_of_the_optimiser():
    with pytest.raises(ValueError, match=r"clip_modules \['z'\] are not modules"):
        build(ThreeParts(), main=dict(type='ModuleClipOptimWrapper', modules=['a'],
                                      clip_modules=['z'], optimizer=ADAM,
                                      clip_grad=dict(max_norm=10, norm_type=math.inf)))
