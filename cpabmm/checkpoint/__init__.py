"""The one place that reads, converts (official formats), verifies and writes weights."""
from .matching import load_state_dict_checked, state_dict_mismatches
from .model_weights import check_model_checkpoint, load_model_weights, read_model_checkpoint
from .official import OFFICIAL_FORMATS, OfficialFormat, official_families, official_format
from .reading import (CheckpointError, read_checkpoint, read_file, read_official_file,
                      read_state_dict)
from .safe_types import from_safe_types, to_safe_types
from .scheme import load_local_checkpoint, register_checkpoint_scheme
from .writing import save_checkpoint

__all__ = [
    'CheckpointError', 'OFFICIAL_FORMATS', 'OfficialFormat', 'check_model_checkpoint',
    'from_safe_types', 'load_local_checkpoint', 'load_model_weights', 'load_state_dict_checked',
    'official_families', 'official_format', 'read_checkpoint', 'read_file',
    'read_model_checkpoint', 'read_official_file', 'read_state_dict',
    'register_checkpoint_scheme', 'save_checkpoint', 'state_dict_mismatches', 'to_safe_types'
]
