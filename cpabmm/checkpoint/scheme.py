"""MMEngine's checkpoint loading for local paths, made ours."""
from __future__ import annotations

from typing import Any, Dict

from mmengine.runner.checkpoint import CheckpointLoader

from .model_weights import read_model_checkpoint
from .reading import MapLocation


def load_local_checkpoint(filename: str, map_location: MapLocation = None) -> Dict[str, Any]:
    """MMEngine's loader of local paths (``load_from``, ``resume``):
    :func:`~cpabmm.checkpoint.read_model_checkpoint`."""
    return read_model_checkpoint(filename, map_location)


def register_checkpoint_scheme() -> None:
    """Make MMEngine's ``CheckpointLoader`` read local paths with
    :func:`load_local_checkpoint` (idempotent)."""
    if CheckpointLoader._schemes.get('') is not load_local_checkpoint:
        CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)
