"""Optimiser wrappers for models trained with several optimisers.

FOMM, TPSMM and CPABMM give separate optimisers to parts of one model (TPSMM:
keypoint detector + dense motion + generator, and the background predictor;
FOMM: generator, keypoint detector, discriminator).
:class:`ModuleOptimWrapperConstructor` builds one wrapper per named group of
submodules into MMEngine's :class:`~mmengine.optim.OptimWrapperDict`, with one
parameter group per module so that :class:`ModuleClipOptimWrapper` can clip
gradients module by module, as TPSMM does.
"""
from __future__ import annotations

import copy
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict
from torch import nn

from cpabmm.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS

#: entries of a wrapper config that the constructor reads itself
CONSTRUCTOR_KEYS = ('modules', 'optimizer')


@OPTIM_WRAPPERS.register_module()
class ModuleClipOptimWrapper(OptimWrapper):
    """An :class:`~mmengine.optim.OptimWrapper` that clips the gradients of
    each module separately (TPSMM clips the keypoint detector and the dense
    motion network each to an inf-norm of 10 and leaves the generator
    unclipped).

    The optimiser's parameter groups must name their module (``'module'``),
    as :class:`ModuleOptimWrapperConstructor` does.

    Args:
        optimizer: the optimiser.
        clip_grad: ``clip_grad_norm_``/``clip_grad_value_`` arguments, as for
            :class:`~mmengine.optim.OptimWrapper`.
        clip_modules: the modules to clip (each on its own); None clips
            every parameter group on its own.
        **kwargs: other :class:`~mmengine.optim.OptimWrapper` arguments.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, clip_grad: Optional[dict] = None,
                 clip_modules: Optional[Sequence[str]] = None, **kwargs):
        super().__init__(optimizer, clip_grad=clip_grad, **kwargs)
        names = [group.get('module') for group in optimizer.param_groups]
        unknown = sorted(set(clip_modules or ()) - set(names))
        if unknown:
            raise ValueError(f'clip_modules {unknown} are not modules of this optimiser '
                             f'(it has {names})')
        self.clip_modules = None if clip_modules is None else tuple(clip_modules)

    def _clip_grad(self) -> None:
        norms = []
        for group in self.optimizer.param_groups:
            if self.clip_modules is not None and group.get('module') not in self.clip_modules:
                continue
            params = [p for p in group['params'] if p.requires_grad and p.grad is not None]
            if params:
                norm = self.clip_func(params, **self.clip_grad_kwargs)
                if norm is not None:
                    norms.append(float(norm))
        if norms:
            self.message_hub.update_scalar(f'train/{self.grad_name}', max(norms))


def _module_parameters(model: nn.Module, path: str) -> Optional[List[nn.Parameter]]:
    """Trainable parameters of submodule ``path`` (dotted), None when the
    model sets that submodule to None."""
    module = model
    for part in path.split('.'):
        if not hasattr(module, part):
            raise ValueError(f'optim_wrapper names module {path!r}, which '
                             f'{type(model).__name__} does not have')
        module = getattr(module, part)
        if module is None:
            return None
    if not isinstance(module, nn.Module):
        raise ValueError(f'optim_wrapper module {path!r} is a {type(module).__name__}, '
                         'not a module')
    return [p for p in module.parameters() if p.requires_grad]


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class ModuleOptimWrapperConstructor:
    """Build one optimiser wrapper per named group of submodules.

    ``optim_wrapper`` config::

        optim_wrapper = dict(
            constructor='ModuleOptimWrapperConstructor',
            generator=dict(
                modules=['keypoint_detector', 'dense_motion', 'generator'],
                optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)),
                clip_grad=...),              # any wrapper argument
            background=dict(modules=['background'], optimizer=...))

    Each entry becomes ``OptimWrapperDict[name]``: its optimiser has one
    parameter group per module (``group['module']`` names it), its wrapper
    type is the entry's ``type`` (default ``OptimWrapper``). Module paths may
    be dotted (``losses.adversarial.loss.discriminator``); a module the model
    sets to None (e.g. ``background=None``) is left out, and a wrapper left
    with no parameter is dropped. A parameter may belong to one wrapper only;
    modules no wrapper names are not trained.

    Entries that are not dicts (e.g. ``type`` set by ``--amp``) apply to
    every wrapper; they may not contradict a wrapper's own setting.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None):
        if paramwise_cfg:
            raise ValueError('ModuleOptimWrapperConstructor does not take paramwise_cfg; '
                             'give the modules that need other settings their own wrapper')
        shared = {k: v for k, v in optim_wrapper_cfg.items() if not isinstance(v, dict)}
        self.wrapper_cfgs: Dict[str, dict] = {}
        for name, cfg in optim_wrapper_cfg.items():
            if name in shared:
                continue
            missing = [key for key in CONSTRUCTOR_KEYS if key not in cfg]
            if missing:
                raise ValueError(f'optim_wrapper.{name} needs {missing} (each entry of a '
                                 'multi-optimiser optim_wrapper is one wrapper: modules, '
                                 'optimizer and wrapper arguments)')
            cfg = copy.deepcopy(dict(cfg))
            for key, value in shared.items():
                if key in cfg and cfg[key] != value:
                    raise ValueError(f'optim_wrapper.{key}={value!r} conflicts with '
                                     f'optim_wrapper.{name}.{key}={cfg[key]!r}')
                cfg[key] = value
            wrapper_type = cfg.get('type', 'OptimWrapper')
            if isinstance(wrapper_type, str):
                wrapper_type = OPTIM_WRAPPERS.get(wrapper_type)
            if isinstance(wrapper_type, type) and issubclass(wrapper_type, AmpOptimWrapper):
                raise ValueError(
                    f'optim_wrapper.{name}: AmpOptimWrapper scales the loss per optimiser and '
                    'cannot serve several sharing one loss; use tools/train.py --amp '
                    "(model.mixed_precision='bfloat16') instead")
            self.wrapper_cfgs[name] = cfg
        if not self.wrapper_cfgs:
            raise ValueError('optim_wrapper with ModuleOptimWrapperConstructor needs at least '
                             'one wrapper entry')

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        wrappers = {}
        owner: Dict[int, str] = {}
        for name, cfg in self.wrapper_cfgs.items():
            cfg = copy.deepcopy(cfg)
            groups = []
            for path in cfg.pop('modules'):
                params = _module_parameters(model, path)
                if params is None:
                    continue
                for param in params:
                    if id(param) in owner:
                        raise ValueError(f'a parameter of {path!r} is in optim_wrapper.'
                                         f'{owner[id(param)]} and optim_wrapper.{name}')
                    owner[id(param)] = name
                if params:
                    groups.append({'params': params, 'module': path})
            if not groups:
                print_log(f'optim_wrapper.{name}: the model has none of its modules; '
                          'no optimiser built', logger='current')
                continue
            optimizer = OPTIMIZERS.build(dict(cfg.pop('optimizer'), params=groups))
            cfg.setdefault('type', 'OptimWrapper')
            wrappers[name] = OPTIM_WRAPPERS.build(dict(cfg, optimizer=optimizer))
        if not wrappers:
            raise ValueError('no optimiser wrapper has parameters to train: check '
                             'optim_wrapper.*.modules against the model')
        return OptimWrapperDict(**wrappers)
