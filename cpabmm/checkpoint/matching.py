"""Strict loading of a state dict, with one message naming every mismatch."""
from __future__ import annotations

from typing import Dict, List, Mapping, Sequence

from torch import Tensor, nn

_SHOWN = 8


def _listing(items: List[str]) -> str:
    shown = ', '.join(items[:_SHOWN])
    more = len(items) - _SHOWN
    return shown + (f', ... (+{more} more)' if more > 0 else '')


def _grouped(keys: List[str]) -> List[str]:
    """Keys grouped by their module two levels down: ``a.b.*`` (n keys)."""
    groups: Dict[str, List[str]] = {}
    for key in keys:
        groups.setdefault('.'.join(key.split('.')[:2]), []).append(key)
    return [members[0] if len(members) == 1 else f'{prefix}.* ({len(members)} keys)'
            for prefix, members in groups.items()]


def _in_module(key: str, module: str) -> bool:
    return key.startswith(f'{module}.')


def absent_modules(model: nn.Module, state_dict: Mapping[str, Tensor],
                   modules: Sequence[str]) -> List[str]:
    """Those of ``modules`` (``named_modules`` names) that have weights in
    ``model`` but not a single key in ``state_dict``."""
    expected = model.state_dict()
    return [module for module in modules
            if any(_in_module(key, module) for key in expected)
            and not any(_in_module(key, module) for key in state_dict)]


def state_dict_mismatches(model: nn.Module, state_dict: Mapping[str, Tensor],
                          optional: Sequence[str] = ()) -> str:
    """Describe how ``state_dict`` differs from ``model``'s: keys with
    other shapes, missing and unexpected keys; '' when it fits.

    Args:
        optional: submodules (``named_modules`` names) whose weights may be
            absent altogether; one with only some of its keys still misses
            the others.
    """
    expected = model.state_dict()
    skipped = absent_modules(model, state_dict, optional)
    shapes = [f'{key} (checkpoint {list(value.shape)}, model {list(expected[key].shape)})'
              for key, value in state_dict.items()
              if key in expected and tuple(value.shape) != tuple(expected[key].shape)]
    missing = [key for key in expected if key not in state_dict
               and not any(_in_module(key, module) for module in skipped)]
    unexpected = [key for key in state_dict if key not in expected]
    parts = []
    if shapes:
        parts.append(f'{len(shapes)} keys of another shape: {_listing(shapes)}')
    if missing:
        parts.append(f'{len(missing)} missing keys: {_listing(_grouped(missing))}')
    if unexpected:
        parts.append(f'{len(unexpected)} unexpected keys: {_listing(_grouped(unexpected))}')
    return '; '.join(parts)


def load_state_dict_checked(model: nn.Module, state_dict: Mapping[str, Tensor],
                            source: str = 'the checkpoint',
                            optional: Sequence[str] = ()) -> List[str]:
    """Load ``state_dict`` strictly, or raise one ValueError that names every
    kind of mismatch (was it made for another model or config?).

    Args:
        optional: submodules whose weights may be absent altogether (see
            :func:`state_dict_mismatches`); they keep their values.

    Returns:
        The ``optional`` submodules that ``state_dict`` has no weights for.
    """
    problems = state_dict_mismatches(model, state_dict, optional)
    if problems:
        raise ValueError(f'{source} does not fit this {type(model).__name__} (was it made for '
                         f'another model or config?): {problems}')
    skipped = absent_modules(model, state_dict, optional)
    model.load_state_dict(state_dict, strict=not skipped)
    return skipped
