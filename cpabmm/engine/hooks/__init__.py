from .atomic_checkpoint_hook import AtomicCheckpointHook
from .epoch_hook import SetEpochHook
from .nonfinite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .random_state_hook import RandomStateHook
from .safe_checkpoint_hook import SafeCheckpointHook
from .visualization_hook import AnimationVisualizationHook

__all__ = ['AnimationVisualizationHook', 'AtomicCheckpointHook', 'NonFiniteLossError',
           'NonFiniteLossHook', 'RandomStateHook', 'SafeCheckpointHook', 'SetEpochHook']
