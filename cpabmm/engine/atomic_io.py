"""Atomic local file writes for everything MMEngine saves.

MMEngine writes checkpoints (and the ``last_checkpoint`` pointer) by opening
the destination and streaming into it, so a run killed mid-write leaves a
truncated file under the real name. :class:`AtomicLocalBackend` writes to a
temporary file in the same folder, flushes it to disk and renames it over the
destination, which POSIX makes atomic: a reader sees the old file or the new
one, never half of one. It replaces MMEngine's ``local`` storage backend when
``cpabmm.engine`` is imported.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend
from mmengine.fileio import io as mmengine_io

from cpabmm.fileio import atomic_write


def atomic_write_bytes(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` so that it is complete or absent."""
    with atomic_write(os.fspath(filepath), 'wb') as stream:
        stream.write(data)


class AtomicLocalBackend(LocalBackend):
    """MMEngine's local backend with atomic ``put`` and ``put_text``."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write_bytes(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        atomic_write_bytes(obj.encode(encoding), filepath)


def install_atomic_local_backend() -> None:
    """Make MMEngine use :class:`AtomicLocalBackend` for local paths."""
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    stale = [key for key, backend in mmengine_io.backend_instances.items()
             if type(backend) is LocalBackend]
    for key in stale:
        del mmengine_io.backend_instances[key]
