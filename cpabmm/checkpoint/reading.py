"""Reading weight files, always through PyTorch's weights-only unpickler."""
from __future__ import annotations

import logging
import os
import os.path as osp
import pickle
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import torch
from mmengine.logging import print_log
from torch import Tensor

from .safe_types import from_safe_types

MapLocation = Optional[Union[str, torch.device, Callable]]


def _reason(error: Exception) -> str:
    """The line of an unpickling error that names the refused object."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    named = [line for line in lines if 'GLOBAL' in line or 'Unsupported' in line]
    return (named or lines or [type(error).__name__])[0]


def read_file(path: Union[str, os.PathLike], map_location: MapLocation = 'cpu',
              allowed_globals: Sequence[Any] = ()) -> Any:
    """``torch.load(path, weights_only=True)``, trusting only
    ``allowed_globals`` beyond tensors and plain containers.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file stores other Python objects, or is no PyTorch file.
    """
    path = osp.expanduser(os.fspath(path))
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'checkpoint not found: {path} (check the path, or fetch it with tools/download.py)')
    try:
        with torch.serialization.safe_globals(list(allowed_globals)):
            return torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as error:
        raise ValueError(
            f'{path} is not a weights-only checkpoint ({_reason(error)}); save weights with '
            'torch.save(state_dict), and convert official FOMM/TPSMM files you trust with '
            'tools/convert_checkpoint.py') from None


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
        ValueError: the file needs full unpickling and ``trust_pickle`` is off.
    """
    try:
        return read_file(path, allowed_globals=_numpy_globals())
    except ValueError as error:
        if not trust_pickle:
            raise ValueError(f'{error}; if you trust the file, rerun with --trust-pickle to '
                             'unpickle it fully') from None
    print_log(f'unpickling {path} fully (--trust-pickle): this runs any code stored in it',
              logger='current', level=logging.WARNING)
    return torch.load(path, map_location='cpu', weights_only=False)
