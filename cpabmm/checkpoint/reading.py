"""Reading weight files, always through PyTorch's weights-only unpickler."""
from __future__ import annotations

import logging
import os
import os.path as osp
import pickle
import pickletools
import re
import zipfile
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import torch
from mmengine.logging import print_log
from torch import Tensor

from .safe_types import from_safe_types

MapLocation = Optional[Union[str, torch.device, Callable]]

#: how every file ``torch.save`` writes begins: a zip archive (PyTorch >= 1.6)
#: or, in the older format of the official FOMM/TPSMM files, a pickled magic number
_ZIP_HEADER = b'PK\x03\x04'
_LEGACY_HEADER = pickle.dumps(torch.serialization.MAGIC_NUMBER, protocol=2)
#: what the weights-only unpickler says when it refuses a stored object
_REFUSED_OBJECT = re.compile(r'GLOBAL|Can only (create|build)|call reduce|persistent')


class CheckpointError(ValueError):
    """A file that is no complete PyTorch checkpoint (empty, truncated,
    damaged or other bytes): one line naming the path."""


def _reason(error: Exception) -> str:
    """The line of an unpickling error that names the refused object."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    named = [line for line in lines if _REFUSED_OBJECT.search(line)]
    return (named or lines or [type(error).__name__])[0]


def _complete_zip(path: str) -> bool:
    """Whether ``path`` is a whole zip archive whose members pass their CRC check."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False


def _incomplete(path: str, what: str = 'truncated or damaged file') -> CheckpointError:
    return CheckpointError(f'{path}: not a complete checkpoint ({what}); download it again')


def _file_format(path: str) -> str:
    """``'zip'`` or ``'legacy'``: which format of ``torch.save`` ``path`` begins with.

    Raises:
        CheckpointError: neither (an empty file, too short, other bytes).
    """
    with open(path, 'rb') as f:
        head = f.read(len(_LEGACY_HEADER))
    if not head:
        raise _incomplete(path, 'empty file')
    if head.startswith(_ZIP_HEADER):
        return 'zip'
    if head == _LEGACY_HEADER:
        return 'legacy'
    if _ZIP_HEADER.startswith(head) or _LEGACY_HEADER.startswith(head):
        raise _incomplete(path)
    raise CheckpointError(f'{path}: not a PyTorch checkpoint (unreadable bytes)')


def _refused_object(error: Exception) -> bool:
    """Whether the weights-only unpickler refused an object stored in a readable file."""
    return isinstance(error, pickle.UnpicklingError) and bool(_REFUSED_OBJECT.search(str(error)))


def _environment_error(error: Exception) -> bool:
    """Whether ``error`` comes from this machine rather than the file's bytes
    (no such device for ``map_location``, out of memory, I/O)."""
    return isinstance(error, (OSError, MemoryError)) or (
        isinstance(error, RuntimeError)
        and bool(re.search(r'cuda|device|out of memory', str(error), re.IGNORECASE)))


def _whole_pickles(path: str, count: int) -> bool:
    """Whether ``path`` begins with ``count`` complete pickles (their opcodes
    parsed, nothing run)."""
    try:
        with open(path, 'rb') as f:
            for _ in range(count):
                for _ in pickletools.genops(f):
                    pass
    except Exception:  # noqa: BLE001 - any failure to parse: not whole
        return False
    return True


def _load_error(path: str, file_format: str, error: Exception) -> Exception:
    """The error to report when ``torch.load`` failed on ``path`` (which
    begins like a file of ``torch.save``) with ``error``: the refusal of an
    object stored in a whole file, a :class:`CheckpointError` when the bytes
    are to blame, or ``error`` itself when this machine is."""
    refusal = ValueError(
        f'{path} is not a weights-only checkpoint ({_reason(error)}); save weights with '
        'torch.save(state_dict), and convert official FOMM/TPSMM files you trust with '
        'tools/convert_checkpoint.py')
    if file_format == 'zip':
        if not _complete_zip(path):
            return _incomplete(path)
        with zipfile.ZipFile(path) as archive:
            torch_archive = any(name.split('/')[-1] == 'data.pkl' for name in archive.namelist())
        if torch_archive and _refused_object(error):
            return refusal
        if not torch_archive or isinstance(error, pickle.UnpicklingError):
            return CheckpointError(f'{path}: not a PyTorch checkpoint (unreadable bytes)')
        return error  # every member is whole: the bytes are as written
    # the pre-1.6 format: pickles of the magic number, protocol, system
    # information and the object, then the tensors' bytes
    if _refused_object(error) and _whole_pickles(path, 4):
        return refusal
    return error if _environment_error(error) else _incomplete(path)


def read_file(path: Union[str, os.PathLike], map_location: MapLocation = 'cpu',
              allowed_globals: Sequence[Any] = ()) -> Any:
    """``torch.load(path, weights_only=True)``, trusting only
    ``allowed_globals`` beyond tensors and plain containers.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: the file is empty, truncated or damaged, or holds
            bytes ``torch.save`` did not write.
        ValueError: the file stores other Python objects.
    """
    path = osp.expanduser(os.fspath(path))
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'checkpoint not found: {path} (check the path, or fetch it with tools/download.py)')
    file_format = _file_format(path)
    try:
        with torch.serialization.safe_globals(list(allowed_globals)):
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch.load fails in many ways on bad bytes: sorted below
        reported = _load_error(path, file_format, error)
        if reported is error:
            raise
        raise reported from None


def read_checkpoint(path: Union[str, os.PathLike], map_location: MapLocation = 'cpu') -> Any:
    """A checkpoint read weights-only, with the MMEngine objects that
    :func:`~cpabmm.checkpoint.to_safe_types` rewrote restored."""
    return from_safe_types(read_file(path, map_location))


def read_state_dict(path: str) -> Dict[str, Tensor]:
    """A plain ``{name: tensor}`` file (e.g. a frozen network's weights).

    Raises:
        ValueError: the file holds anything else.
    """
    state_dict = read_file(path)
    if not isinstance(state_dict, dict) or not all(
            isinstance(value, Tensor) for value in state_dict.values()):
        raise ValueError(f'{path} does not hold a plain state dict of tensors')
    return state_dict


def _numpy_globals() -> List[Any]:
    """The numpy reconstructors old checkpoints pickle scalars and arrays with."""
    import numpy as np
    core = getattr(np, '_core', None) or np.core
    return [core.multiarray.scalar, core.multiarray._reconstruct, np.ndarray, np.dtype,
            *{type(np.dtype(name)) for name in ('int64', 'int32', 'float64', 'float32', 'bool')}]


def read_official_file(path: str, trust_pickle: bool = False) -> Any:
    """An official FOMM/TPSMM pickle, read weights-only with numpy's scalar
    and array types allowed; full unpickling (which can run code stored in
    the file) only with ``trust_pickle``.

    Raises:
        CheckpointError: the file is no complete PyTorch file (no trust helps).
        ValueError: the file needs full unpickling and ``trust_pickle`` is off.
    """
    try:
        return read_file(path, allowed_globals=_numpy_globals())
    except CheckpointError:
        raise
    except ValueError as error:
        if not trust_pickle:
            raise ValueError(f'{error}; if you trust the file, rerun with --trust-pickle to '
                             'unpickle it fully') from None
    print_log(f'unpickling {path} fully (--trust-pickle): this runs any code stored in it',
              logger='current', level=logging.WARNING)
    return torch.load(path, map_location='cpu', weights_only=False)
