"""Mixed-precision training: bfloat16 autocast, with the geometry in float32.

bfloat16 keeps float32's exponent range, so training needs no loss scaling
and any number of optimisers can share one backward pass. The keypoint-to-
transformation fits (linear solves, eigendecompositions, ODE integration)
and the sampling grids they produce stay in float32.
"""
from contextlib import nullcontext
from typing import Any, Callable, ContextManager, Optional

import torch

#: accepted values of ``ImageAnimator(mixed_precision=...)``
MIXED_PRECISION = (None, 'bfloat16')


def autocast_context(mixed_precision: Optional[str], device: torch.device) -> ContextManager:
    """The forward pass's context: bfloat16 autocast on ``device`` or none."""
    if mixed_precision is None:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def to_float32(value: Any) -> Any:
    """``value`` with every floating-point tensor in it (nested in dicts,
    lists and tuples) cast to float32."""
    if isinstance(value, torch.Tensor):
        return value.float() if value.is_floating_point() else value
    if isinstance(value, dict):
        return {key: to_float32(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_float32(item) for item in value)
    return value


def _first_device(value: Any) -> Optional[torch.device]:
    if isinstance(value, torch.Tensor):
        return value.device
    items = value.values() if isinstance(value, dict) else (
        value if isinstance(value, (list, tuple)) else ())
    for item in items:
        device = _first_device(item)
        if device is not None:
            return device
    return None


def in_float32(function: Callable, *args: Any) -> Any:
    """``function(*args)`` with autocast off and its tensor arguments in
    float32 (a no-op outside autocast, for float32 arguments)."""
    device = _first_device(args)
    if device is None or not torch.is_autocast_enabled(device.type):
        return function(*args)
    with torch.autocast(device_type=device.type, enabled=False):
        return function(*to_float32(args))
