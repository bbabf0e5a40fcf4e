"""Checkpoint contents in types the weights-only unpickler accepts.

MMEngine stores its message hub as ``HistoryBuffer`` objects holding numpy
arrays, and a run's metadata may hold numpy scalars; neither passes PyTorch's
weights-only unpickler. :func:`to_safe_types` rewrites them as plain
containers, tensors and Python scalars before a checkpoint is written, and
:func:`from_safe_types` restores them after it is read.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

HISTORY_BUFFER_TAG = '__mmengine_history_buffer__'
NDARRAY_TAG = '__numpy_ndarray__'


def to_safe_types(obj: Any) -> Any:
    """Return ``obj`` with every value the weights-only unpickler rejects
    replaced by a tagged plain equivalent."""
    if isinstance(obj, HistoryBuffer):
        log, count = obj.data
        return {
            HISTORY_BUFFER_TAG: True,
            'log_history': to_safe_types(log),
            'count_history': to_safe_types(count),
            'max_length': int(obj.max_length),
        }
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            return [to_safe_types(item) for item in obj.tolist()]
        return {NDARRAY_TAG: torch.from_numpy(np.ascontiguousarray(obj))}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, OrderedDict):
        return OrderedDict((k, to_safe_types(v)) for k, v in obj.items())
    if isinstance(obj, dict):
        return {k: to_safe_types(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_safe_types(v) for v in obj)
    return obj


def from_safe_types(obj: Any) -> Any:
    """Inverse of :func:`to_safe_types`."""
    if isinstance(obj, dict):
        if obj.get(HISTORY_BUFFER_TAG) is True:
            return HistoryBuffer(
                list(from_safe_types(obj['log_history'])),
                list(from_safe_types(obj['count_history'])),
                obj['max_length'])
        if NDARRAY_TAG in obj and len(obj) == 1:
            return obj[NDARRAY_TAG].numpy()
        items = ((k, from_safe_types(v)) for k, v in obj.items())
        return OrderedDict(items) if isinstance(obj, OrderedDict) else dict(items)
    if isinstance(obj, (list, tuple)):
        return type(obj)(from_safe_types(v) for v in obj)
    return obj
