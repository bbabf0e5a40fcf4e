"""Loading a checkpoint's weights into a built model, strictly."""
from __future__ import annotations

from typing import Any, Dict, Mapping

from mmengine.model import is_model_wrapper
from torch import nn

from cpabmm.models.state_dict import load_state_dict_checked
from .checkpoint import load_checkpoint_file


def load_model_weights(model: nn.Module, filename: str) -> Dict[str, Any]:
    """Load the ``state_dict`` of the MMEngine checkpoint ``filename``
    (read weights-only) into ``model`` (or the model a wrapper holds).

    Unlike MMEngine's non-strict loading, weights that do not fit fail with
    one line naming the mismatched keys.

    Returns:
        The checkpoint's ``meta`` (empty when it has none).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a weights-only MMEngine checkpoint, or weights made
            for another model or config.
    """
    checkpoint = load_checkpoint_file(filename, map_location='cpu')
    state_dict = checkpoint.get('state_dict') if isinstance(checkpoint, Mapping) else None
    if not isinstance(state_dict, Mapping):
        raise ValueError(
            f'{filename} has no state_dict, so it is no MMEngine checkpoint; convert '
            'official FOMM/TPSMM files with tools/convert_checkpoint.py')
    if is_model_wrapper(model):
        model = model.module
    load_state_dict_checked(model, state_dict, source=filename)
    return dict(checkpoint.get('meta') or {})
