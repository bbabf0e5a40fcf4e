"""Frozen feature networks: weights from local files, never trained, never saved.

A :class:`FrozenBackbone` serves the losses only. Its parameters never need a
gradient, it always runs in eval mode, and it stays out of the state dict of
the model that holds it: training checkpoints remain small, and the frozen
weights always come from their own file (a checkpoint that does carry them
still loads, and then wins).

The weights are read by :func:`cpabmm.checkpoint.read_state_dict`
(weights-only); the helpers here turn every problem (missing file, foreign
layout, other architecture) into a one-line error that names the file and
the fix.
"""
from __future__ import annotations

import contextlib
import os.path as osp
from typing import ContextManager, Mapping, Optional

import torch
from torch import Tensor, nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_normalize(images: Tensor) -> Tensor:
    """Normalise ``[B, 3, H, W]`` images in [0, 1] with the ImageNet statistics."""
    mean = images.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = images.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (images - mean) / std


def hub_checkpoint_path(filename: str) -> str:
    """Where ``torch.hub`` keeps a downloaded ``filename``:
    ``torch.hub.get_dir()/checkpoints/filename``."""
    return osp.join(torch.hub.get_dir(), 'checkpoints', filename)


def resolve_checkpoint(checkpoint: Optional[str], default_filename: str, network: str,
                       how_to_get: str) -> str:
    """The local weight file of ``network``: ``checkpoint`` if given, else the
    torch hub cache's ``default_filename``.

    Raises:
        FileNotFoundError: one line naming the expected path and ``how_to_get``.
    """
    path = osp.expanduser(checkpoint) if checkpoint else hub_checkpoint_path(default_filename)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{network} weights not found at {path}: {how_to_get} (or pass '
            'pretrained=False for random weights, e.g. in tests)')
    return path


def build_context(pretrained: bool) -> ContextManager:
    """Where to build a network: on the meta device when its weights are then
    loaded (no time or memory spent initialising values that are replaced;
    :func:`load_exact` assigns the loaded tensors), else normally."""
    return torch.device('meta') if pretrained else contextlib.nullcontext()


def _examples(keys) -> str:
    keys = sorted(keys)
    more = f' and {len(keys) - 3} more' if len(keys) > 3 else ''
    return ', '.join(keys[:3]) + more


def load_exact(module: nn.Module, state_dict: Mapping[str, Tensor], source: str,
               network: str) -> None:
    """Load ``state_dict`` into ``module``, requiring exactly its keys and shapes.

    Raises:
        ValueError: one line naming the unexpected, missing or mis-shaped
            keys; each means the file is not a ``network`` checkpoint of
            the configured architecture.
    """
    expected = module.state_dict()
    unexpected = set(state_dict) - set(expected)
    if unexpected:
        raise ValueError(
            f'{source} has keys that {network} does not have ({_examples(unexpected)}): '
            'it is another network or another architecture; check the file and the config')
    missing = set(expected) - set(state_dict)
    if missing:
        raise ValueError(
            f'{source} lacks keys of {network} ({_examples(missing)}): '
            'it is another architecture or a truncated file; check the file and the config')
    mismatched = {
        f'{key} {tuple(state_dict[key].shape)} vs {tuple(value.shape)}'
        for key, value in expected.items() if state_dict[key].shape != value.shape
    }
    if mismatched:
        raise ValueError(
            f'{source} has shapes that differ from {network} ({_examples(mismatched)}; file vs '
            'model): it is for another architecture; check the config')
    module.load_state_dict(state_dict, strict=True, assign=True)


class FrozenBackbone(nn.Module):
    """Base class of the frozen feature networks.

    Subclasses build their layers, load their weights and then call
    :meth:`freeze`. Afterwards the module has no trainable parameter, stays in
    eval mode whatever its parent does, and is left out of the parent's state
    dict (its own ``state_dict()``, called on it directly, is complete).
    """

    def freeze(self) -> None:
        """Stop gradients, switch to eval mode and detach from parent checkpoints."""
        self.requires_grad_(False)
        self.train(False)
        self._register_state_dict_hook(_drop_frozen_entries)
        self.register_load_state_dict_pre_hook(_fill_frozen_entries)

    def train(self, mode: bool = True) -> 'FrozenBackbone':
        """Always eval mode: a frozen network has no training behaviour."""
        return super().train(False)


def _drop_frozen_entries(module: nn.Module, state_dict: dict, prefix: str,
                         local_metadata: dict) -> None:
    """State-dict hook: remove the frozen module's entries from a parent's dict."""
    if not prefix:
        return
    for key in [key for key in state_dict if key.startswith(prefix)]:
        del state_dict[key]


def _fill_frozen_entries(module: nn.Module, state_dict: dict, prefix: str, *args) -> None:
    """Load pre-hook: a parent checkpoint without the frozen entries keeps the
    current (file-loaded) weights instead of reporting them missing."""
    if not prefix:
        return
    for key, value in module.state_dict().items():
        state_dict.setdefault(prefix + key, value)
