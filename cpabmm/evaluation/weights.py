"""Reading evaluation network weights from local files (never downloaded)."""
from __future__ import annotations

import os.path as osp

from cpabmm.checkpoint import read_file
from .errors import MetricUnavailableError


def read_weights(path: str, what: str, fix: str) -> dict:
    """The weights at ``path``, read weights-only (:func:`cpabmm.checkpoint.read_file`).

    Raises:
        MetricUnavailableError: the file does not exist ("``what`` not found:
            ``path`` (``fix``)").
        ValueError: the file pickles Python objects instead of tensors.
    """
    path = osp.expanduser(path)
    if not osp.isfile(path):
        raise MetricUnavailableError(f'{what} not found: {path} ({fix})')
    return read_file(path)
