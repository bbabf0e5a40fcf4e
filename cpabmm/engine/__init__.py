"""Runner glue: hooks and weights-only checkpoint loading."""
from .checkpoint import from_safe_types, load_checkpoint_file, to_safe_types
from .hooks import SafeCheckpointHook

__all__ = [
    'SafeCheckpointHook', 'from_safe_types', 'load_checkpoint_file',
    'to_safe_types'
]
