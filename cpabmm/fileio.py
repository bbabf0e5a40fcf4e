"""Atomic file writes: a file appears complete under its name, or not at all.

Everything cpabmm writes that a user or a later run reads back (checkpoints,
metrics, videos, feature caches) goes through a temporary file in the
destination folder that is renamed over the destination when complete; POSIX
renames are atomic, so a crash or a kill never leaves half a file behind.
:func:`publish` also flushes the file and then its folder to disk, so that
the new name survives a power cut too.
"""
from __future__ import annotations

import glob
import os
import os.path as osp
import tempfile
from contextlib import contextmanager
from typing import IO, Callable, Iterator, List, Optional

#: Called as ``before_publish(temporary, path)`` when a file is complete on
#: disk and about to be renamed into place; tests set it to interrupt a
#: write at that moment.
before_publish: Optional[Callable[[str, str], None]] = None


def temporary_path(path: str, suffix: str = '.tmp') -> str:
    """Create an empty hidden temporary file next to ``path``; return its path."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=folder, prefix=f'.{osp.basename(path)}.', suffix=suffix)
    os.close(handle)
    return temporary


def stale_temporaries(folder: str, name_pattern: str, suffix: str = '.tmp') -> List[str]:
    """The temporary files that :func:`temporary_path` made in ``folder`` for
    names matching the glob ``name_pattern`` (left behind by killed runs)."""
    pattern = f'.{name_pattern}.*{glob.escape(suffix)}'
    return sorted(glob.glob(osp.join(glob.escape(folder), pattern)))


def sync_path(path: str) -> None:
    """Flush a file's or a folder's data and metadata to disk."""
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def publish(temporary: str, path: str, overwrite: bool = True) -> None:
    """Give ``temporary`` the usual permissions (the umask's, not mkstemp's
    0600), flush it to disk and rename it over ``path``, then flush the
    folder; with ``overwrite=False`` it is linked to ``path`` instead, which
    fails (``FileExistsError``, ``temporary`` kept) when something appeared
    there meanwhile."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    sync_path(temporary)
    if before_publish is not None:
        before_publish(temporary, path)
    if overwrite:
        os.replace(temporary, path)
    else:
        os.link(temporary, path)
        os.remove(temporary)
    sync_path(osp.dirname(osp.abspath(path)))


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield the path of a temporary file next to ``path`` to write; on
    success it is published to ``path``, on any error it is removed and
    ``path`` is left untouched."""
    path = osp.abspath(osp.expanduser(os.fspath(path)))
    temporary = temporary_path(path)
    try:
        yield temporary
        publish(temporary, path)
    except BaseException:
        if osp.exists(temporary):
            os.remove(temporary)
        raise


@contextmanager
def atomic_write(path: str, mode: str = 'w', **open_kwargs) -> Iterator[IO]:
    """Open a temporary file next to ``path``; on success it replaces
    ``path``, on any error it is removed and ``path`` is left untouched."""
    with atomic_path(path) as temporary, open(temporary, mode, **open_kwargs) as file:
        yield file
