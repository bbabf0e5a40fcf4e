"""Finding a zoo entry by its name or an alias."""
from __future__ import annotations

import difflib

from .index import ModelEntry, ModelIndex


def find_model(index: ModelIndex, name: str) -> ModelEntry:
    """The entry called ``name`` (a name or alias, case-insensitive).

    Raises:
        ValueError: no entry has that name; the message lists the closest
            names.
    """
    entry = index.by_name.get(name.strip().lower())
    if entry is not None:
        return entry
    spellings = {alias.lower(): alias for e in index.entries for alias in e.names}
    close = difflib.get_close_matches(name.strip().lower(), list(spellings), n=4, cutoff=0.4)
    hint = (f'close names: {", ".join(spellings[c] for c in close)}' if close
            else 'no close name')
    raise ValueError(f'unknown model {name!r} ({hint}); list them all with '
                     f'`python tools/download.py --list` (index: {index.path})')
