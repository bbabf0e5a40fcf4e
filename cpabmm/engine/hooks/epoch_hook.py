"""Tell the model the training epoch (background start, dropout schedule)."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from cpabmm.registry import HOOKS


def unwrap(model):
    """The model inside a (distributed) model wrapper."""
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class SetEpochHook(Hook):
    """Call ``model.set_epoch(epoch)`` before every training epoch.

    The animator starts the background predictor at ``bg_start`` and ramps
    the transformation dropout by epoch; a resumed run gets the epoch it
    resumes at.
    """

    priority = 'HIGH'

    def before_train_epoch(self, runner) -> None:
        model = unwrap(runner.model)
        if not hasattr(model, 'set_epoch'):
            raise TypeError(f'SetEpochHook needs a model with set_epoch(epoch); '
                            f'{type(model).__name__} has none: remove the hook')
        model.set_epoch(runner.epoch)
