"""A hook that keeps the runner's checkpoints loadable with weights_only."""
from mmengine.hooks import Hook

from cpabmm.checkpoint import from_safe_types, to_safe_types
from cpabmm.registry import HOOKS


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Write checkpoints in types PyTorch's weights-only unpickler accepts.

    Runs after every other hook has added its part to the checkpoint and
    before any other hook reads a loaded one.
    """

    priority = 'LOWEST'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        converted = to_safe_types(checkpoint)
        checkpoint.clear()
        checkpoint.update(converted)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # Loading through ``cpabmm.checkpoint`` already restored the
        # objects; this covers checkpoints read by other loaders.
        restored = from_safe_types(checkpoint)
        checkpoint.clear()
        checkpoint.update(restored)
