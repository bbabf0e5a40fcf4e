"""Stop (or skip the step) when a loss term is NaN or infinite."""
from typing import Dict

import torch
import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.logging import print_log
from torch import Tensor

from cpabmm.registry import HOOKS
from .epoch_hook import unwrap

ACTIONS = ('stop', 'skip')


class NonFiniteLossError(RuntimeError):
    """A loss term was NaN or infinite; training stopped before the step."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Check every loss term before the optimiser step.

    The hook installs itself as the model's ``loss_guard``; the model's
    ``train_step`` calls it with the named terms before back-propagating.
    A NaN or infinite term then either stops training with
    :class:`NonFiniteLossError`, naming the terms and the iteration, before
    any weight or optimiser state changes (checkpoints written so far stay
    valid: resume from the last one), or, with ``action='skip'``, drops the
    step and counts it. A skip is refused (training stops) when the forward
    pass already left non-finite values in the model's buffers (BatchNorm
    statistics). In a distributed run the ranks agree: if any rank sees a
    bad term, every rank skips (or stops).

    Args:
        action: 'stop' or 'skip'.
    """

    priority = 'VERY_HIGH'

    def __init__(self, action: str = 'stop'):
        if action not in ACTIONS:
            raise ValueError(f'NonFiniteLossHook action must be one of {ACTIONS}, got {action!r}')
        self.action = action
        self.skipped = 0
        self._where = 'before training'
        self._model = None

    def before_train(self, runner) -> None:
        model = unwrap(runner.model)
        if not hasattr(model, 'loss_guard'):
            raise TypeError(f'NonFiniteLossHook needs a model with a loss_guard (the '
                            f'ImageAnimator); {type(model).__name__} has none')
        model.loss_guard = self
        self._model = model

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._where = f'iteration {runner.iter + 1} (epoch {runner.epoch + 1})'

    def after_train(self, runner) -> None:
        unwrap(runner.model).loss_guard = None
        if self.skipped:
            print_log(f'{self.skipped} steps were skipped for non-finite losses',
                      logger='current')

    def __call__(self, terms: Dict[str, Tensor]) -> bool:
        """True if every term is finite (step), False to skip; raises to stop."""
        bad = {name: value for name, value in terms.items()
               if not bool(torch.isfinite(value.detach()).all())}
        device = next(iter(terms.values())).device if terms else None
        if self._any_rank(bool(bad), device):
            described = ', '.join(f'{name}={value.detach().float().mean().item()}'
                                  for name, value in bad.items()) or 'on another rank'
            if self.action == 'stop':
                raise NonFiniteLossError(
                    f'non-finite loss at {self._where}: {described}; stopped before the '
                    'optimiser step, so the weights and checkpoints are intact (resume '
                    "from the last checkpoint, or use NonFiniteLossHook(action='skip'); "
                    'CPABMM_CHECK_FINITE=1 names the first non-finite motion fit or CPAB '
                    'output on every device)')
            buffers = self._non_finite_buffers()
            if buffers:
                raise NonFiniteLossError(
                    f'non-finite loss at {self._where}: {described}, and the forward pass '
                    f'left non-finite buffers ({", ".join(buffers[:3])}): cannot skip the '
                    'step; stopped before it (resume from the last checkpoint)')
            self.skipped += 1
            print_log(f'skipped the step at {self._where}: non-finite loss {described}',
                      logger='current', level=30)
            return False
        return True

    def _non_finite_buffers(self):
        if self._model is None:
            return []
        return [name for name, buffer in self._model.named_buffers()
                if buffer.is_floating_point() and not bool(torch.isfinite(buffer).all())]

    @staticmethod
    def _any_rank(flag: bool, device) -> bool:
        if not (dist.is_available() and dist.is_initialized()):
            return flag
        value = torch.tensor([float(flag)], device=device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())
