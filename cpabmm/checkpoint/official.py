"""Key mapping from the official FOMM and TPSMM checkpoints to ours.

Official checkpoints are ``{'kp_detector': state_dict, 'generator': ...}``
dictionaries; :func:`flatten_official_checkpoint` joins them into one
state dict with the entry as prefix (``kp_detector.fg_encoder.conv1.weight``)
and :func:`convert_official_state_dict` renames every key to the layout of
:class:`~cpabmm.models.ImageAnimator`. Values are not changed: the published
networks are reproduced module for module.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Tuple

from torch import Tensor

Rules = List[Tuple[str, str]]

#: the checkpoint entries that hold network weights, per official model
NETWORK_ENTRIES: Dict[str, Tuple[str, ...]] = {
    'tpsmm': ('kp_detector', 'dense_motion_network', 'inpainting_network', 'bg_predictor',
              'avd_network'),
    'fomm': ('kp_detector', 'generator'),
}
#: entries an official checkpoint may hold that our animator has no use for
IGNORED_ENTRIES: Dict[str, Tuple[str, ...]] = {
    'tpsmm': ('optimizer', 'optimizer_bg_predictor', 'optimizer_avd', 'epoch', 'epoch_avd'),
    'fomm': ('discriminator', 'optimizer_generator', 'optimizer_kp_detector',
             'optimizer_discriminator', 'epoch'),
}

_HOURGLASS: Rules = [
    (r'\.hourglass\.encoder\.down_blocks\.', '.hourglass.down_blocks.'),
    (r'\.hourglass\.decoder\.up_blocks\.', '.hourglass.up_blocks.'),
]
_DENSE_MOTION_HEADS: Rules = [
    (r'^dense_motion\.down\.weight$', 'dense_motion.downsample.weight'),
    (r'^dense_motion\.(maps|mask)\.', 'dense_motion.contribution_head.'),
    (r'^dense_motion\.up\.', 'dense_motion.occlusion_up_blocks.'),
    (r'^dense_motion\.occlusion\.(\d+)\.', r'dense_motion.occlusion_heads.\1.'),
    (r'^dense_motion\.occlusion\.(weight|bias)$', r'dense_motion.occlusion_heads.0.\1'),
]
_GENERATOR: Rules = [
    (r'^generator\.first\.', 'generator.stem.'),
    (r'^generator\.final\.', 'generator.head.'),
    (r'^generator\.resblock\.', 'generator.res_blocks.'),
    (r'^generator\.bottleneck\.r(\d+)\.', r'generator.bottleneck.\1.'),
]

#: (pattern, replacement) rules applied in order to every key
RULES: Dict[str, Rules] = {
    'tpsmm': [
        (r'^kp_detector\.fg_encoder\.', 'keypoint_detector.backbone.'),
        (r'^bg_predictor\.bg_encoder\.', 'background.backbone.'),
        (r'^avd_network\.', 'avd.'),
        (r'^dense_motion_network\.', 'dense_motion.'),
        (r'^inpainting_network\.', 'generator.'),
    ] + _HOURGLASS + _DENSE_MOTION_HEADS + _GENERATOR,
    'fomm': [
        (r'^kp_detector\.predictor\.', 'keypoint_detector.hourglass.'),
        (r'^kp_detector\.kp\.', 'keypoint_detector.heatmap_head.'),
        (r'^kp_detector\.jacobian\.', 'keypoint_detector.jacobian_head.'),
        (r'^kp_detector\.down\.weight$', 'keypoint_detector.downsample.weight'),
        (r'^generator\.dense_motion_network\.', 'dense_motion.'),
    ] + _HOURGLASS + _DENSE_MOTION_HEADS + _GENERATOR,
}


def _check_model(model: str) -> None:
    if model not in RULES:
        raise ValueError(f'unknown official model {model!r}; choose one of {sorted(RULES)}')


def flatten_official_checkpoint(checkpoint: Mapping, model: str) -> 'OrderedDict[str, Tensor]':
    """Join an official checkpoint's per-network state dicts into one, with
    the entry name as prefix.

    Raises:
        ValueError: the checkpoint has none of the model's network entries,
            or an entry this converter does not know.
    """
    _check_model(model)
    known = NETWORK_ENTRIES[model] + IGNORED_ENTRIES[model]
    unknown = sorted(set(checkpoint) - set(known))
    if unknown:
        raise ValueError(f'not an official {model.upper()} checkpoint: unknown entries '
                         f'{unknown} (expected some of {list(NETWORK_ENTRIES[model])})')
    present = [entry for entry in NETWORK_ENTRIES[model] if entry in checkpoint]
    if not present:
        raise ValueError(f'not an official {model.upper()} checkpoint: none of the entries '
                         f'{list(NETWORK_ENTRIES[model])} found')
    flat = OrderedDict()
    for entry in present:
        for key, value in checkpoint[entry].items():
            key = key[len('module.'):] if key.startswith('module.') else key
            flat[f'{entry}.{key}'] = value
    return flat


def convert_key(key: str, model: str) -> str:
    """Our name for the official key ``key`` (with its entry prefix)."""
    _check_model(model)
    for pattern, replacement in RULES[model]:
        key = re.sub(pattern, replacement, key)
    return key


def convert_official_state_dict(state_dict: Mapping[str, Tensor],
                                model: str) -> 'OrderedDict[str, Tensor]':
    """Rename a flattened official state dict to our layout.

    Raises:
        ValueError: a key does not belong to any network of ``model``.
    """
    _check_model(model)
    prefixes = tuple(f'{entry}.' for entry in NETWORK_ENTRIES[model])
    foreign = [key for key in state_dict if not key.startswith(prefixes)]
    if foreign:
        raise ValueError(f'{len(foreign)} keys are not part of an official {model.upper()} '
                         f'network, e.g. {foreign[:3]}')
    return OrderedDict((convert_key(key, model), value) for key, value in state_dict.items())
