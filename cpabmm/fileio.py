"""Atomic file writes: a file appears complete under its name, or not at all.

Everything cpabmm writes that a user or a later run reads back (checkpoints,
metrics, videos, feature caches) goes through a temporary file in the
destination folder that is renamed over the destination when complete; POSIX
renames are atomic, so a crash or a kill never leaves half a file behind.
:func:`publish` also flushes the file and then its folder to disk, so that
the new name survives a power cut too.

Tools check every destination before they start working
(:func:`check_writable_destination`: a file or folder where one can be
written, probed by creating a temporary file there), and a write that fails
later (a full disk, an I/O error) is reported as a :class:`WriteError`
naming the destination, not the temporary file.
"""
from __future__ import annotations

import errno
import glob
import os
import os.path as osp
import stat
import tempfile
from contextlib import contextmanager
from typing import IO, Callable, Iterator, List, Optional

#: what :func:`check_writable_destination` checks a path for
DESTINATION_KINDS = ('file', 'folder')

#: Called as ``before_publish(temporary, path)`` when a file is complete on
#: disk and about to be renamed into place; tests set it to interrupt a
#: write at that moment.
before_publish: Optional[Callable[[str, str], None]] = None


class DestinationError(ValueError):
    """A destination that cannot be written, found before any work is done;
    the one-line message names the path, the problem and the fix."""


class WriteError(OSError):
    """Writing ``path`` failed while it was being written (a full disk, an
    I/O error); ``str()`` is ``could not write <path>: <reason>``."""

    def __init__(self, path: str, error: BaseException) -> None:
        reason = getattr(error, 'strerror', None)
        if not reason:
            lines = str(error).strip().splitlines()
            reason = lines[0] if lines else type(error).__name__
        super().__init__(getattr(error, 'errno', None), reason)
        self.filename = path

    def __str__(self) -> str:
        return f'could not write {self.filename}: {self.strerror}'


def _probe_folder(folder: str) -> Optional[OSError]:
    """Create and remove a hidden temporary file in ``folder`` (as the
    atomic writers do); the error when that fails, else None."""
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix='.cpabmm-write-probe.',
                                         suffix='.tmp')
    except OSError as error:
        return error
    os.close(handle)
    try:
        os.remove(probe)
    except OSError as error:
        return error
    return None


def check_writable_destination(path: str, kind: str = 'file',
                               option: Optional[str] = None) -> str:
    """Check, before any work, that a ``kind`` (``'file'`` or ``'folder'``)
    can be written at ``path``; return its absolute path.

    Missing folders on the way are allowed (the writers create them): the
    nearest existing one must be a folder in which a file can really be
    created, which is probed by creating and removing a hidden temporary
    file there (``os.access`` alone is not trusted: it says yes for
    ``/proc`` and read-only mounts, and for root everywhere). Nothing is
    left behind and no folder is created.

    Args:
        path: the destination.
        kind: ``'file'`` (an existing one is replaced; an existing folder or
            a device at ``path`` is refused) or ``'folder'`` (an existing
            file at ``path`` is refused).
        option: the command-line option naming the path, for the message.

    Raises:
        DestinationError: one line naming the path, the problem and the fix.
    """
    if kind not in DESTINATION_KINDS:
        raise ValueError(f'kind must be one of {DESTINATION_KINDS}, got {kind!r}')
    shown = f'{option} {path}' if option else path
    full = osp.abspath(osp.expanduser(os.fspath(path)))
    if kind == 'file':
        if osp.isdir(full):
            raise DestinationError(f'{shown}: is a folder, not a file; give a file path '
                                   '(e.g. a new name in that folder)')
        if osp.exists(full) and not stat.S_ISREG(os.stat(full).st_mode):
            raise DestinationError(f'{shown}: is not a regular file (a device, a pipe or '
                                   'a socket); give the path of a file')
        folder = osp.dirname(full)
    else:
        if osp.exists(full) and not osp.isdir(full):
            raise DestinationError(f'{shown}: is a file, not a folder; give a folder path')
        folder = full
    while not osp.isdir(folder):  # the nearest existing folder on the way
        if osp.lexists(folder):
            what = 'a file, not a folder' if osp.isfile(folder) else 'not a folder'
            raise DestinationError(f'{shown}: {folder} is {what}; choose another path')
        folder = osp.dirname(folder)
    error = _probe_folder(folder)
    if error is not None:
        reason = error.strerror or str(error)
        if error.errno == errno.ENOENT:
            reason = 'files cannot be created there'
        raise DestinationError(f'{shown}: cannot write in {folder} ({reason}); choose a '
                               'writable folder')
    return full


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
