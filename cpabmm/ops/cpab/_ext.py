"""Lazy loader of the compiled ops (``cpabmm._ext``).

The extension is optional: a source tree without a build, or a build that
does not match the installed torch, leaves every op to its PyTorch path.
"""
import functools
import importlib
from types import ModuleType
from typing import Optional, Tuple


@functools.lru_cache(maxsize=None)
def _import_ext() -> Tuple[Optional[ModuleType], str]:
    try:
        return importlib.import_module('cpabmm._ext'), ''
    except ImportError as error:  # not built, or built against another torch
        return None, str(error)


def load_ext() -> Optional[ModuleType]:
    """The compiled extension module, or ``None`` when it cannot be imported."""
    return _import_ext()[0]


def ext_import_error() -> str:
    """Why :func:`load_ext` returned ``None`` (empty when it did not)."""
    return _import_ext()[1]
