"""Reading evaluation network weights from local files (never downloaded)."""
from __future__ import annotations

import os.path as osp
import pickle

import torch

from .errors import MetricUnavailableError


def read_weights(path: str, what: str, fix: str) -> dict:
    """A state dict read from ``path`` with ``weights_only=True``.

    Raises:
        MetricUnavailableError: the file does not exist ("``what`` not found:
            ``path`` (``fix``)").
        ValueError: the file pickles Python objects instead of tensors.
    """
    path = osp.expanduser(path)
    if not osp.isfile(path):
        raise MetricUnavailableError(f'{what} not found: {path} ({fix})')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError:
        raise ValueError(
            f'{path} is not a plain state dict (it pickles Python objects); '
            'save it with torch.save(model.state_dict(), path)') from None
