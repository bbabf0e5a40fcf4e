"""SHA-256 digests of files and checks of the digests users type."""
from __future__ import annotations

import hashlib
import re

_HEX64 = re.compile(r'[0-9a-f]{64}')
_BLOCK = 1 << 20


def file_sha256(path: str) -> str:
    """The hex SHA-256 of the file at ``path``, read block by block."""
    digest = hashlib.sha256()
    with open(path, 'rb') as stream:
        for block in iter(lambda: stream.read(_BLOCK), b''):
            digest.update(block)
    return digest.hexdigest()


def normalise_sha256(value: str, what: str = '--sha256') -> str:
    """``value`` as 64 lower-case hex digits.

    Raises:
        ValueError: it is not a SHA-256 digest.
    """
    text = str(value).strip().lower()
    if not _HEX64.fullmatch(text):
        raise ValueError(f'{what} must be 64 hex digits (a SHA-256, e.g. from '
                         f'`sha256sum FILE`), got {value!r}')
    return text
