"""Key mapping from the official FOMM and TPSMM checkpoints to ours.

Official checkpoints are ``{'kp_detector': state_dict, 'generator': ...}``
dictionaries. :data:`OFFICIAL_FORMATS` holds one :class:`OfficialFormat` per
family (``'fomm'``, ``'tpsmm'``): it recognises the family's files, joins
their entries into one state dict with the entry as prefix
(``kp_detector.fg_encoder.conv1.weight``) and renames every key to the layout
of :class:`~cpabmm.models.ImageAnimator`. Values are not changed: the
published networks are reproduced module for module (FOMM's discriminator
becomes the one of our adversarial loss, ``losses.adversarial``, spectral-norm
keys included; only a spectral norm stored as PyTorch < 1.0 stored it gets
its ``weight_v`` computed, the way PyTorch's own loader does).
"""
from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import torch
from torch import Tensor, nn

Rules = List[Tuple[str, str]]

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


#: where our FOMM configs keep the discriminator (``model.losses.adversarial``)
FOMM_DISCRIMINATOR = 'losses.adversarial.loss.discriminator'


def spectral_norm_v1(state_dict: Mapping[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """Spectral norms in today's layout (``weight_orig``, ``weight_u``,
    ``weight_v``): one saved by PyTorch < 1.0 (``weight_orig``, ``weight_u``
    and the normalised ``weight``) gets the ``weight_v`` that PyTorch's own
    loader derives from them; other keys pass unchanged."""
    normalised = [key[:-len('_orig')] for key in state_dict if key.endswith('.weight_orig')]
    legacy = [weight for weight in normalised if weight in state_dict
              and f'{weight}_u' in state_dict and f'{weight}_v' not in state_dict]
    upgraded = OrderedDict((key, value) for key, value in state_dict.items() if key not in legacy)
    for weight in legacy:
        holder = nn.Module()
        holder.weight = nn.Parameter(torch.empty_like(state_dict[f'{weight}_orig']))
        nn.utils.spectral_norm(holder)
        holder.load_state_dict({'weight_orig': state_dict[f'{weight}_orig'],
                                'weight_u': state_dict[f'{weight}_u'],
                                'weight': state_dict[weight]})
        upgraded[f'{weight}_v'] = holder.weight_v.detach().clone()
    return upgraded


@dataclass(frozen=True)
class OfficialFormat:
    """The checkpoints of one official code base and how to convert them.

    Args:
        family: the name users pass (``--model``), e.g. ``'tpsmm'``.
        networks: the entries that hold network weights.
        ignored: entries our animator has no use for (optimisers, epochs).
        rules: ``(pattern, replacement)`` regexes applied in order to every key.
        upgrade: applied to the renamed state dict (older layouts of a module).
    """

    family: str
    networks: Tuple[str, ...]
    ignored: Tuple[str, ...]
    rules: Rules
    upgrade: Optional[Callable[[Mapping[str, Tensor]], 'OrderedDict[str, Tensor]']] = None

    def _unknown(self, checkpoint: Mapping) -> List[str]:
        return sorted(set(checkpoint) - set(self.networks + self.ignored))

    def matches(self, checkpoint: Any) -> bool:
        """Whether ``checkpoint`` is laid out like this family's files."""
        return (isinstance(checkpoint, Mapping) and not self._unknown(checkpoint)
                and any(entry in checkpoint for entry in self.networks))

    def flatten(self, checkpoint: Mapping) -> 'OrderedDict[str, Tensor]':
        """Join the per-network state dicts into one, with the entry name as prefix.

        Raises:
            ValueError: the checkpoint has none of the network entries, or an
                entry this format does not know.
        """
        name = self.family.upper()
        unknown = self._unknown(checkpoint)
        if unknown:
            raise ValueError(f'not an official {name} checkpoint: unknown entries {unknown} '
                             f'(expected some of {list(self.networks)})')
        present = [entry for entry in self.networks if entry in checkpoint]
        if not present:
            raise ValueError(f'not an official {name} checkpoint: none of the entries '
                             f'{list(self.networks)} found')
        flat = OrderedDict()
        for entry in present:
            for key, value in checkpoint[entry].items():
                key = key[len('module.'):] if key.startswith('module.') else key
                flat[f'{entry}.{key}'] = value
        return flat

    def convert_key(self, key: str) -> str:
        """Our name for the official key ``key`` (with its entry prefix)."""
        for pattern, replacement in self.rules:
            key = re.sub(pattern, replacement, key)
        return key

    def convert_state_dict(self, state_dict: Mapping[str, Tensor]) -> 'OrderedDict[str, Tensor]':
        """Rename a flattened official state dict to our layout.

        Raises:
            ValueError: a key does not belong to any network of this family.
        """
        prefixes = tuple(f'{entry}.' for entry in self.networks)
        foreign = [key for key in state_dict if not key.startswith(prefixes)]
        if foreign:
            raise ValueError(f'{len(foreign)} keys are not part of an official '
                             f'{self.family.upper()} network, e.g. {foreign[:3]}')
        converted = OrderedDict((self.convert_key(key), value) for key, value in state_dict.items())
        return self.upgrade(converted) if self.upgrade is not None else converted

    def convert(self, checkpoint: Mapping) -> 'OrderedDict[str, Tensor]':
        """The official ``checkpoint``'s weights as our state dict."""
        return self.convert_state_dict(self.flatten(checkpoint))


#: the official checkpoint formats, by family
OFFICIAL_FORMATS: Dict[str, OfficialFormat] = {
    'tpsmm': OfficialFormat(
        'tpsmm',
        networks=('kp_detector', 'dense_motion_network', 'inpainting_network', 'bg_predictor',
                  'avd_network'),
        ignored=('optimizer', 'optimizer_bg_predictor', 'optimizer_avd', 'epoch', 'epoch_avd'),
        rules=[
            (r'^kp_detector\.fg_encoder\.', 'keypoint_detector.backbone.'),
            (r'^bg_predictor\.bg_encoder\.', 'background.backbone.'),
            (r'^avd_network\.', 'avd.'),
            (r'^dense_motion_network\.', 'dense_motion.'),
            (r'^inpainting_network\.', 'generator.'),
        ] + _HOURGLASS + _DENSE_MOTION_HEADS + _GENERATOR),
    'fomm': OfficialFormat(
        'fomm',
        networks=('kp_detector', 'generator', 'discriminator'),
        ignored=('optimizer_generator', 'optimizer_kp_detector', 'optimizer_discriminator',
                 'epoch'),
        rules=[
            (r'^kp_detector\.predictor\.', 'keypoint_detector.hourglass.'),
            (r'^kp_detector\.kp\.', 'keypoint_detector.heatmap_head.'),
            (r'^kp_detector\.jacobian\.', 'keypoint_detector.jacobian_head.'),
            (r'^kp_detector\.down\.weight$', 'keypoint_detector.downsample.weight'),
            (r'^generator\.dense_motion_network\.', 'dense_motion.'),
            # FOMM names a scale str(scale) with '.' -> '-' ('1', '0-5', '1-0' for 1.0),
            # we name whole scales without the decimals
            (r'^discriminator\.discs\.(\d+)-0\.', r'discriminator.discs.\1.'),
            (r'^discriminator\.', f'{FOMM_DISCRIMINATOR}.'),
        ] + _HOURGLASS + _DENSE_MOTION_HEADS + _GENERATOR,
        upgrade=spectral_norm_v1),
}


def official_format(family: str) -> OfficialFormat:
    """The :class:`OfficialFormat` of ``family``.

    Raises:
        ValueError: no such family.
    """
    if family not in OFFICIAL_FORMATS:
        raise ValueError(f'unknown official model {family!r}; choose one of '
                         f'{sorted(OFFICIAL_FORMATS)}')
    return OFFICIAL_FORMATS[family]


def official_families(checkpoint: Any) -> List[str]:
    """The families whose official layout ``checkpoint`` has (none for ours)."""
    return [family for family, fmt in OFFICIAL_FORMATS.items() if fmt.matches(checkpoint)]
