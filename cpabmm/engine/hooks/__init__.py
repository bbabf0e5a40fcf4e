from .epoch_hook import SetEpochHook
from .nonfinite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .safe_checkpoint_hook import SafeCheckpointHook
from .visualization_hook import AnimationVisualizationHook

__all__ = ['AnimationVisualizationHook', 'NonFiniteLossError', 'NonFiniteLossHook',
           'SafeCheckpointHook', 'SetEpochHook']
