"""Model checkpoints: which files are accepted, and strict loading of their weights.

The one rule every entry point applies (:func:`~cpabmm.apis.init_model`,
``tools/test.py``, MMEngine's ``load_from`` / ``resume``,
``tools/publish_model.py``): a model checkpoint is an MMEngine checkpoint, a
dict with a ``state_dict`` (and usually ``meta``), readable weights-only. A
bare state dict is refused, and an official FOMM/TPSMM file is refused with
the command that converts it.

:func:`load_model_weights` then loads the weights strictly, with one
exception: for inference, the parts that only training uses (the model names
them: ``training_only_modules()``, i.e. the animator's losses with their
discriminators) may be absent altogether. MMEngine's ``load_from`` loads
non-strictly: what the checkpoint lacks keeps its initial values, and MMEngine
logs the missing keys as a warning.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Tuple

from mmengine.model import is_model_wrapper
from torch import nn

from .matching import absent_modules, load_state_dict_checked
from .official import official_families
from .reading import MapLocation, read_checkpoint


def check_model_checkpoint(checkpoint: Any, source: str) -> None:
    """Raise ValueError unless ``checkpoint`` is an MMEngine checkpoint."""
    families = official_families(checkpoint)
    if families:
        raise ValueError(
            f'{source} is an official {"/".join(f.upper() for f in families)} checkpoint; '
            'convert it first: python tools/convert_checkpoint.py SRC DST --model '
            f'{"|".join(families)}')
    state_dict = checkpoint.get('state_dict') if isinstance(checkpoint, Mapping) else None
    if not isinstance(state_dict, Mapping):
        raise ValueError(
            f'{source} has no state_dict, so it is no MMEngine checkpoint (bare state dicts '
            "are not accepted: save {'state_dict': ..., 'meta': ...}); convert official "
            'FOMM/TPSMM files with tools/convert_checkpoint.py')


def read_model_checkpoint(path: str, map_location: MapLocation = 'cpu') -> Dict[str, Any]:
    """The MMEngine checkpoint at ``path``, read weights-only.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: no complete PyTorch file (empty, truncated, other bytes).
        ValueError: not weights-only, or not an MMEngine checkpoint.
    """
    checkpoint = read_checkpoint(path, map_location)
    check_model_checkpoint(checkpoint, path)
    return checkpoint


def training_only_modules(model: nn.Module) -> Tuple[str, ...]:
    """The submodules (``named_modules`` names) that only training uses, as
    ``model`` declares them with a ``training_only_modules()`` method (the
    animator: its losses, discriminators included); none otherwise."""
    declared = getattr(model, 'training_only_modules', None)
    return tuple(declared()) if callable(declared) else ()


def load_model_weights(model: nn.Module, path: str, training: bool = False) -> Dict[str, Any]:
    """Load the weights of the checkpoint ``path`` into ``model`` (or the
    model a wrapper holds), strictly: weights that do not fit fail with one
    line naming the mismatched keys.

    Args:
        training: the model is to be trained, so the checkpoint must also
            hold the weights of its :func:`training_only_modules`. Otherwise
            (inference) each of those may be absent altogether and then
            keeps its initial values; weights that are there must fit.

    Returns:
        The checkpoint's ``meta`` (empty when it has none).
    """
    checkpoint = read_model_checkpoint(path)
    if is_model_wrapper(model):
        model = model.module
    optional = training_only_modules(model)
    state_dict = checkpoint['state_dict']
    if training:
        absent = absent_modules(model, state_dict, optional)
        if absent:
            raise ValueError(
                f'{path} has no weights for {", ".join(absent)}, which training needs (only '
                'training uses them: inference loads the file without them); to train them '
                'from their initial values, start from it with load_from instead')
    load_state_dict_checked(model, state_dict, source=path,
                            optional=() if training else optional)
    return dict(checkpoint.get('meta') or {})
