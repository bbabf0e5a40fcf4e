"""Atomic file writes: a file appears complete under its name, or not at all.

Everything cpabmm writes that a user or a later run reads back (checkpoints,
metrics, videos, feature caches) goes through a temporary file in the
destination folder that is renamed over the destination when complete; POSIX
renames are atomic, so a crash or a kill never leaves half a file behind.
"""
from __future__ import annotations

import os
import os.path as osp
import tempfile
from contextlib import contextmanager
from typing import IO, Iterator


def temporary_path(path: str, suffix: str = '.tmp') -> str:
    """Create an empty hidden temporary file next to ``path``; return its path."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=folder, prefix=f'.{osp.basename(path)}.', suffix=suffix)
    os.close(handle)
    return temporary


def publish(temporary: str, path: str, overwrite: bool = True) -> None:
    """Give ``temporary`` the usual permissions (the umask's, not mkstemp's
    0600) and rename it over ``path``; with ``overwrite=False`` it is linked
    to ``path`` instead, which fails (``FileExistsError``, ``temporary``
    kept) when something appeared there meanwhile."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    if overwrite:
        os.replace(temporary, path)
        return
    os.link(temporary, path)
    os.remove(temporary)


@contextmanager
def atomic_write(path: str, mode: str = 'w', **open_kwargs) -> Iterator[IO]:
    """Open a temporary file next to ``path``; on success it replaces
    ``path``, on any error it is removed and ``path`` is left untouched."""
    path = osp.abspath(osp.expanduser(os.fspath(path)))
    temporary = temporary_path(path)
    try:
        with open(temporary, mode, **open_kwargs) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        publish(temporary, path)
    except BaseException:
        if osp.exists(temporary):
            os.remove(temporary)
        raise
