"""Swapping the motion model of a config with one override.

``--cfg-options model.motion.type=TPSMotion`` (or ``init_model(...,
cfg_options={'model.motion.type': ...})``) on a CPABMM config would merge
the new type into the CPABMotion entry and keep CPAB-only keys such as
``solver``, which TPSMotion does not take. :func:`swap_motion` rebuilds the
entry for the new type instead: it keeps the keys the new constructor takes
(``num_groups``, ``points_per_group``), drops the old type's own keys and
says which in one INFO line. Keys set beside the type in the same overrides
are never dropped: :func:`~cpabmm.engine.config.check_override_keys` refuses
one the new type does not take.

Nothing else in the config needs to change within one keypoint arrangement
(:attr:`~cpabmm.models.motion.BaseMotion.keypoint_grouping`): the animator
sizes the dense motion network (``num_transforms``, ``num_keypoints``) and
the AVD network from the motion model, the dense motion input layout
(``'grouped'``) takes any number of transformations, and the background
predictor and the losses (warp loss included: it depends on the generator)
do not depend on the motion model. A swap across arrangements is refused,
in one line that says what the config's keypoint detector and dense motion
network were built for.
"""
from __future__ import annotations

from typing import Any, Mapping

from mmengine.config import Config
from mmengine.logging import print_log

from .config import ConfigError, _constructor_parameters, constructor_default, registered_object

MOTION = 'model.motion'

#: per :attr:`BaseMotion.keypoint_grouping`: the transformations it makes
#: (``{p}``: points per group) and the configs built for it
GROUPINGS = {
    'per_keypoint': ('one transformation per keypoint, from its Jacobian', 'configs/fomm'),
    'groups': ('one transformation per group of {p} keypoints',
               'configs/tpsmm or configs/cpabmm'),
}


def _grouping(type_name: Any) -> Any:
    return getattr(registered_object(type_name), 'keypoint_grouping', None)


def _setting(entry: Mapping, type_name: Any, key: str, fallback: Any = None) -> Any:
    """``entry[key]``, else the default of ``type_name``'s constructor."""
    if key in entry:
        return entry[key]
    return constructor_default(type_name, key, fallback)


def _refusal(model: Mapping, old: str, new: str, new_points: Any) -> str:
    """Why ``new`` cannot replace ``old`` in this model config, in one line."""
    motion = model['motion']
    detector = model.get('keypoint_detector') or {}
    detector_type = detector.get('type', 'keypoint detector')
    count = _setting(detector, detector_type, 'num_keypoints', '?')
    jacobian = _setting(detector, detector_type, 'estimate_jacobian', False)
    gives = (f'its {detector_type} gives {count} keypoints '
             f'{"with" if jacobian else "without"} Jacobians')
    if _grouping(old) == 'groups':
        groups = _setting(motion, old, 'num_groups', '?')
        points = _setting(motion, old, 'points_per_group', '?')
        built_for = f'{gives}, which {old} reads as {groups} groups of {points}'
    else:
        built_for = f'{gives}, one per {old} transformation'
    layout = (model.get('dense_motion') or {}).get('input_layout')
    if layout == 'interleaved':
        built_for += (", and its dense motion network pairs each keypoint's heatmap with "
                      "that keypoint's transformation (input_layout='interleaved')")
    makes, configs = GROUPINGS.get(_grouping(new), ('other transformations', 'configs'))
    return (f'model.motion.type={new} cannot replace {old} in this config: {built_for}; '
            f'{new} makes {makes.format(p=new_points)}: use a config built for it '
            f'({configs})')


def swap_motion(cfg: Config, options: Mapping[str, Any]) -> None:
    """Prepare ``cfg`` for overrides ``options`` that change
    ``model.motion.type`` (call before merging them; nothing to do
    otherwise).

    Raises :class:`~cpabmm.engine.config.ConfigError` when the new motion
    model arranges the keypoints otherwise than the old one (e.g. TPSMotion
    in a FOMM config); else removes the old entry's keys that the new
    type's constructor does not take (logged at INFO), so that merging
    ``options`` gives the new type's entry.
    """
    new = options.get(f'{MOTION}.type')
    model = cfg.get('model')
    motion = model.get('motion') if isinstance(model, Mapping) else None
    if new is None or not isinstance(motion, Mapping):
        return
    old = motion.get('type')
    if new == old or registered_object(new) is None or registered_object(old) is None:
        return
    old_grouping, new_grouping = _grouping(old), _grouping(new)
    if old_grouping is not None and new_grouping is not None and old_grouping != new_grouping:
        points = options.get(f'{MOTION}.points_per_group',
                             _setting(motion, new, 'points_per_group', '?'))
        raise ConfigError(_refusal(model, old, new, points))
    accepted = _constructor_parameters(new)
    if accepted is None:   # the new type takes **kwargs: keep everything
        return
    dropped = {key: motion[key] for key in list(motion) if key != 'type' and key not in accepted}
    for key in dropped:
        motion.pop(key)
    if dropped:
        settings = ', '.join(f'{key}={value!r}' for key, value in dropped.items())
        print_log(f'{MOTION}.type={new}: dropped the {old} settings that {new} does not '
                  f'take: {settings}', logger='current')
