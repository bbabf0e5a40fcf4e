"""Runner glue: hooks, optimiser wrappers, weights-only checkpoint loading, atomic writes."""
from .atomic_io import AtomicLocalBackend, install_atomic_local_backend
from .config import ConfigError, check_override_keys, load_config
from .checkpoint import from_safe_types, load_checkpoint_file, to_safe_types
from .distributed import prepare_cpu_distributed
from .hooks import (AnimationVisualizationHook, NonFiniteLossError, NonFiniteLossHook,
                    SafeCheckpointHook, SetEpochHook)
from .model_wrapper import AnimatorDistributedDataParallel
from .optim import ModuleClipOptimWrapper, ModuleOptimWrapperConstructor

install_atomic_local_backend()

__all__ = [
    'AnimationVisualizationHook', 'AnimatorDistributedDataParallel', 'AtomicLocalBackend',
    'ConfigError', 'ModuleClipOptimWrapper', 'ModuleOptimWrapperConstructor',
    'NonFiniteLossError', 'NonFiniteLossHook', 'SafeCheckpointHook', 'SetEpochHook',
    'check_override_keys', 'from_safe_types', 'load_checkpoint_file', 'load_config',
    'prepare_cpu_distributed', 'to_safe_types'
]
