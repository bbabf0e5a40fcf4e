"""Finite-value checks of the CPAB op and the motion models, without GPU
synchronisations by default.

A value check (``torch.isfinite(x).all()`` tested in Python) needs its result
on the host. On a CPU tensor that is one reduction (a few microseconds,
docs/cpab.md); on a CUDA tensor it is also a synchronisation: the host waits
for the GPU, which drains the queue of asynchronous kernels and breaks
CUDA-graph capture. So the checks of :class:`~cpabmm.ops.cpab.CPAB` and of the
motion models' ``fit`` run

* always on CPU tensors;
* on other devices only when switched on, with ``CPABMM_CHECK_FINITE=1`` in
  the environment or :func:`set_finite_checks` (one synchronisation per check:
  for finding the cause of a non-finite loss);
* never while ``torch.compile`` or an exporter (``torch.export``, ONNX)
  traces.

Unchecked, non-finite values propagate (nan in, nan out) to the loss, which
:class:`~cpabmm.engine.NonFiniteLossHook` reports.
"""
import os
import sys
import warnings
from typing import Hashable

import torch
from torch import Tensor

#: environment variable that switches the checks on for every device
ENV = 'CPABMM_CHECK_FINITE'
_every_device = os.environ.get(ENV, '') == '1'
_warned = set()
_HERE = os.path.dirname(os.path.abspath(__file__))


class CPABOverflowWarning(RuntimeWarning):
    """A CPAB integration overflowed: finite theta gave a non-finite output
    or gradient (emitted once per process)."""


def set_finite_checks(every_device: bool) -> bool:
    """Check tensors on every device (True) or on the CPU only (False, the
    default unless ``CPABMM_CHECK_FINITE=1``). Returns the previous setting."""
    global _every_device
    previous, _every_device = _every_device, bool(every_device)
    return previous


def checked(tensor: Tensor) -> bool:
    """Whether the values of ``tensor`` are checked (see the module docstring)."""
    if torch.compiler.is_compiling() or torch.compiler.is_exporting():
        return False
    return _every_device or tensor.device.type == 'cpu'


def all_finite(tensor: Tensor) -> bool:
    """Whether ``tensor`` holds no nan or inf (synchronises on a GPU). One
    sum, many times faster than ``isfinite(x).all()`` on the CPU (80 us
    against 2 ms for 655k floats): it is finite unless a value is not, or
    finite values overflowed it (then the exact test decides)."""
    if not tensor.is_floating_point():
        return True
    return bool(torch.isfinite(tensor.sum())) or bool(torch.isfinite(tensor).all())


def has_nonfinite(tensor: Tensor) -> bool:
    """True if ``tensor`` is checked and holds nan or inf."""
    return checked(tensor) and not all_finite(tensor)


def listed(mask: Tensor, most: int = 5) -> str:
    """The true entries of a 1-D or 2-D boolean mask, e.g. ``'[0, 3] of 8'``
    or ``'[(0, 3), (1, 0)] of [2, 10]'`` (for messages; synchronises)."""
    index = mask.nonzero().tolist()
    index = [i[0] if mask.dim() == 1 else tuple(i) for i in index]
    text = ', '.join(map(str, index[:most])) + (', ...' if len(index) > most else '')
    return f"[{text}] of {mask.shape[0] if mask.dim() == 1 else list(mask.shape)}"


def bad_rows(tensor: Tensor, dims: int = 1) -> str:
    """Which entries of the first ``dims`` dimensions hold nan or inf (see
    :func:`listed`)."""
    return listed(~torch.isfinite(tensor).flatten(dims).all(dim=dims))


def warned(key: Hashable) -> bool:
    """Whether the warning ``key`` was emitted in this process."""
    return key in _warned


def warn_once(key: Hashable, message: str) -> None:
    """Emit ``message`` as a :class:`CPABOverflowWarning` the first time
    ``key`` is seen in this process, attributed to the first caller outside
    this package."""
    if key in _warned:
        return
    _warned.add(key)
    level, frame = 1, sys._getframe(0)
    while frame is not None and frame.f_code.co_filename.startswith(_HERE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, CPABOverflowWarning, stacklevel=level)
