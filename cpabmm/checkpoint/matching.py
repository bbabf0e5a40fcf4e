"""Strict loading of a state dict, with one message naming every mismatch."""
from __future__ import annotations

from typing import Dict, List, Mapping

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


def state_dict_mismatches(model: nn.Module, state_dict: Mapping[str, Tensor]) -> str:
    """Describe how ``state_dict`` differs from ``model``'s: keys with
    other shapes, missing and unexpected keys; '' when it fits."""
    expected = model.state_dict()
    shapes = [f'{key} (checkpoint {list(value.shape)}, model {list(expected[key].shape)})'
              for key, value in state_dict.items()
              if key in expected and tuple(value.shape) != tuple(expected[key].shape)]
    missing = [key for key in expected if key not in state_dict]
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
                            source: str = 'the checkpoint') -> None:
    """Load ``state_dict`` strictly, or raise one ValueError that names every
    kind of mismatch (was it made for another model or config?)."""
    problems = state_dict_mismatches(model, state_dict)
    if problems:
        raise ValueError(f'{source} does not fit this {type(model).__name__} (was it made for '
                         f'another model or config?): {problems}')
    model.load_state_dict(state_dict, strict=True)
