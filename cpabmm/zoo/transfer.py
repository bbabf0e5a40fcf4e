"""Verified transfers: a URL's bytes reach their final name only when their
SHA-256 is the expected one.

The bytes stream into a hidden temporary file next to the destination
(:func:`cpabmm.fileio.temporary_path`), are hashed on the way, and the file is
linked to the destination (:func:`cpabmm.fileio.publish`, which never
overwrites a file) only when the transfer is complete and the digest matches. On any failure the temporary file
is deleted, so an interrupted or corrupted download never looks like a
checkpoint.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import os.path as osp
import urllib.error
import urllib.request
from typing import Optional

from tqdm import tqdm

from cpabmm.fileio import publish, temporary_path
from .errors import ChecksumError, DownloadError

#: seconds without data before a transfer is given up
TIMEOUT_S = 60
_BLOCK = 1 << 16


def _expected_length(response) -> Optional[int]:
    """The Content-Length the server promised, if any."""
    value = response.headers.get('Content-Length') if response.headers else None
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _stream(url: str, temporary: str, label: str, progress: bool) -> str:
    """Copy ``url`` into ``temporary``; return the hex SHA-256 of the bytes.

    Raises:
        DownloadError: the server refused, the connection failed, or fewer
            bytes arrived than the server promised.
    """
    digest = hashlib.sha256()
    received = 0
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, \
                open(temporary, 'wb') as stream:
            expected = _expected_length(response)
            with tqdm(total=expected, unit='B', unit_scale=True, unit_divisor=1024,
                      desc=label, disable=not progress, leave=False) as bar:
                for block in iter(lambda: response.read(_BLOCK), b''):
                    stream.write(block)
                    digest.update(block)
                    received += len(block)
                    bar.update(len(block))
            stream.flush()
            os.fsync(stream.fileno())
    except urllib.error.HTTPError as error:
        raise DownloadError(f'{url}: HTTP {error.code} {error.reason}') from None
    except urllib.error.URLError as error:
        raise DownloadError(f'{url}: cannot connect ({error.reason})') from None
    except (http.client.HTTPException, OSError) as error:
        raise DownloadError(f'{url}: transfer failed after {received} bytes '
                            f'({type(error).__name__}: {error})') from None
    if expected is not None and received < expected:
        raise DownloadError(f'{url}: truncated transfer, the connection closed after '
                            f'{received} of {expected} bytes; try again')
    return digest.hexdigest()


def download(url: str, path: str, sha256: str, progress: bool = True) -> str:
    """Fetch ``url`` (http, https or file) to ``path`` if its SHA-256 is
    ``sha256``; return ``path``.

    Raises:
        DownloadError: the transfer failed; ChecksumError: the bytes are not
            the expected ones. In both cases nothing is left at ``path`` or
            next to it.
    """
    try:
        temporary = temporary_path(path, suffix='.part')
    except OSError as error:
        raise DownloadError(f'{osp.dirname(path)}: cannot write there ({error.strerror}); '
                            'choose another cache folder (--dest or CPABMM_HOME)') from None
    try:
        actual = _stream(url, temporary, osp.basename(path), progress)
        if actual != sha256:
            raise ChecksumError(
                f'{url}: SHA-256 mismatch (expected {sha256}, got {actual}); the file '
                'is corrupt or not the one the index names, and was deleted')
        try:
            publish(temporary, path, overwrite=False)
        except FileExistsError:
            raise DownloadError(f'{path} appeared during the download; it was left '
                                'untouched and the download was discarded') from None
    finally:
        if osp.exists(temporary):
            os.remove(temporary)
    return path
