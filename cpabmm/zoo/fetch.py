"""Getting a verified checkpoint file: from the zoo by name, or from a URL or
a local file with its SHA-256.

A file is used only after its SHA-256 matched: downloads are verified before
they are published in the cache (:mod:`cpabmm.zoo.transfer`), cached files
are verified again each time they are reused (no network is touched then),
and weights bundled in the source tree are verified in place. A file that is
already in the cache folder is never deleted or overwritten: when its SHA-256
is not the expected one, the fetch stops and says so.
"""
from __future__ import annotations

import os.path as osp
import urllib.parse
from pathlib import Path
from typing import Optional, Tuple

from mmengine.logging import print_log

from .cache import cache_dir
from .checksum import file_sha256, normalise_sha256
from .errors import ChecksumError
from .index import ModelEntry, ModelIndex, is_url, load_model_index
from .names import find_model
from .transfer import download

URL_SCHEMES = ('http', 'https', 'file')


def _cache_name(url: str, sha256: str) -> str:
    """The file name a download from ``url`` is cached under: the URL's last
    path segment, or the digest's start where that segment could name
    something other than a visible file inside the cache folder (empty,
    ``.``, ``..``, hidden, or holding a separator once decoded)."""
    name = urllib.parse.unquote(urllib.parse.urlparse(url).path).rsplit('/', 1)[-1]
    if not name or name.startswith('.') or osp.sep in name or '\\' in name or '\0' in name:
        return f'{sha256[:16]}.pth'
    return name


def cached_path(url: str, sha256: str, dest: Optional[str] = None) -> str:
    """Where the download of ``url`` with the SHA-256 ``sha256`` is (or would
    be) cached: the file :func:`fetch_url` returns, without touching it or
    the network."""
    return osp.join(cache_dir(dest), _cache_name(url, normalise_sha256(sha256)))


def fetch_url(url: str, sha256: str, dest: Optional[str] = None,
              progress: bool = True) -> str:
    """The cached, verified copy of ``url`` (http, https or file); downloaded
    only when the cache has no file with that SHA-256.

    Raises:
        ValueError: an unsupported URL scheme or a malformed digest.
        DownloadError: the transfer failed or (ChecksumError) gave other bytes.
    """
    sha256 = normalise_sha256(sha256)
    scheme = urllib.parse.urlparse(url).scheme.lower()
    if scheme not in URL_SCHEMES:
        raise ValueError(f'{url}: unsupported URL scheme {scheme!r} (use one of '
                         f'{", ".join(URL_SCHEMES)}, or a local path)')
    path = cached_path(url, sha256, dest)
    if osp.lexists(path):
        actual = file_sha256(path) if osp.isfile(path) else None
        if actual == sha256:
            print_log(f'using the verified cached file {path}', logger='current')
            return path
        found = f'has the SHA-256 {actual}' if actual else 'is not a regular file'
        raise ChecksumError(f'{path} already exists and {found}, not {sha256}; it was left '
                            'untouched: check --sha256, or move that file away (or choose '
                            'another --dest) to download again')
    return download(url, path, sha256, progress)


def verify_local(path: str, sha256: str) -> str:
    """``path`` if the file there has the SHA-256 ``sha256``.

    Raises:
        ValueError: no such file. ChecksumError: other bytes.
    """
    if not osp.isfile(path):
        raise ValueError(f'{path}: no such file')
    actual = file_sha256(path)
    if actual != normalise_sha256(sha256):
        raise ChecksumError(f'{path}: SHA-256 mismatch (expected {sha256}, got {actual}); '
                            'the file is corrupt or not the one the index names')
    return path


def fetch_source(source: str, sha256: str, dest: Optional[str] = None,
                 progress: bool = True) -> str:
    """A URL or a local file, verified and copied into the cache."""
    if not is_url(source):
        if not osp.isfile(source):
            raise ValueError(f'{source}: no such file')
        source = Path(osp.abspath(source)).as_uri()
    return fetch_url(source, sha256, dest, progress)


def _official_refusal(entry: ModelEntry) -> str:
    official = entry.official
    return (f'{entry.name} is the official pickle {official.file}, whose authors publish '
            f'no SHA-256 (source: {official.locations[0]})')


def fetch_model(entry: ModelEntry, dest: Optional[str] = None, sha256: Optional[str] = None,
                progress: bool = True) -> str:
    """The verified checkpoint file of a zoo entry.

    Bundled weights (a path in the source tree) are verified in place;
    URLs are fetched into the cache. Official pickles are fetched only with
    ``sha256`` given by the user (the authors publish none).

    Raises:
        ValueError: the entry cannot be verified (no SHA-256), has no direct
            link, or ``sha256`` disagrees with the index.
        DownloadError: the transfer failed or gave other bytes.
    """
    if entry.official is not None:
        if entry.weights is None:
            raise ValueError(f'{_official_refusal(entry)}: download it by hand (no direct '
                             'link is known), verify it with `python tools/download.py '
                             f'{entry.official.file} --sha256 HEX` and convert it: '
                             f'{entry.official.convert}')
        if sha256 is None:
            raise ValueError(f'{_official_refusal(entry)}: pass --sha256 HEX of the file you '
                             f'trust (then convert it: {entry.official.convert})')
        expected = normalise_sha256(sha256)
    else:
        if entry.weights is None:
            raise ValueError(f'{entry.name}: the index ({entry.metafile}) gives no Weights')
        if entry.sha256 is None:
            raise ValueError(f'{entry.name}: the index ({entry.metafile}) gives no SHA-256 '
                             f'for {entry.weights} yet, so it cannot be verified and is not '
                             'loaded')
        if sha256 is not None and normalise_sha256(sha256) != entry.sha256:
            raise ValueError(f'{entry.name}: --sha256 {sha256} disagrees with the index '
                             f'({entry.sha256}); drop --sha256 to use the index')
        expected = entry.sha256
    if is_url(entry.weights):
        return fetch_url(entry.weights, expected, dest, progress)
    return verify_local(entry.weights, expected)


def resolve_model(name: str, index: Optional[ModelIndex] = None, dest: Optional[str] = None,
                  progress: bool = True) -> Tuple[str, str]:
    """``(config, checkpoint)`` of the zoo model ``name`` (or alias),
    the checkpoint verified and downloaded when needed.

    Raises:
        ValueError: unknown name, or an official checkpoint (convert it
            first, then pass the config and the converted file).
    """
    entry = find_model(index or load_model_index(), name)
    if entry.official is not None:
        raise ValueError(f'{entry.name} is an official checkpoint that must be converted '
                         f'first: {entry.official.convert}; then pass --config '
                         f'{osp.relpath(entry.config)} --checkpoint with the converted file')
    return entry.config, fetch_model(entry, dest, progress=progress)
