"""Runner glue: hooks and weights-only checkpoint loading."""
from .config import ConfigError, check_override_keys, load_config
from .checkpoint import from_safe_types, load_checkpoint_file, to_safe_types
from .hooks import SafeCheckpointHook

__all__ = [
    'ConfigError', 'SafeCheckpointHook', 'check_override_keys',
    'from_safe_types', 'load_checkpoint_file', 'load_config', 'to_safe_types'
]
