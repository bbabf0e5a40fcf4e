"""Runner glue: hooks, weights-only checkpoint loading, atomic writes."""
from .atomic_io import AtomicLocalBackend, install_atomic_local_backend
from .config import ConfigError, check_override_keys, load_config
from .checkpoint import from_safe_types, load_checkpoint_file, to_safe_types
from .distributed import prepare_cpu_distributed
from .hooks import SafeCheckpointHook

install_atomic_local_backend()

__all__ = [
    'AtomicLocalBackend', 'ConfigError', 'prepare_cpu_distributed', 'SafeCheckpointHook', 'check_override_keys',
    'from_safe_types', 'load_checkpoint_file', 'load_config', 'to_safe_types'
]
