"""Identity embedders for AED: a network that maps a frame to a vector."""
from __future__ import annotations

import importlib
import os.path as osp
from abc import ABCMeta, abstractmethod
from typing import Callable, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from .errors import MetricUnavailableError
from .registry import IDENTITY_EMBEDDERS, build_component
from .samples import as_size, resize_images
from .weights import read_weights


class IdentityEmbedder(metaclass=ABCMeta):
    """Maps images to identity embeddings; AED compares their directions."""

    #: Recorded next to AED (values compare only under the same embedder).
    name: str = ''

    @abstractmethod
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """``[B, D]`` embeddings of ``[B, 3, H, W]`` RGB images in [0, 1]."""


def build_identity_embedder(
        embedder: Union[dict, IdentityEmbedder]) -> IdentityEmbedder:
    """An embedder from a config dict (``IDENTITY_EMBEDDERS``) or an instance."""
    return build_component(
        embedder, IDENTITY_EMBEDDERS, IdentityEmbedder,
        "dict(type='TorchEmbedder', network='pkg.module:Net', weights='net.pth')")


def import_object(path: str) -> Callable:
    """The object named by ``'package.module:attribute'``."""
    module_name, sep, attribute = path.partition(':')
    if not sep or not module_name or not attribute:
        raise ValueError(
            f"network {path!r} must be written 'package.module:attribute'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise MetricUnavailableError(
            f'cannot import {module_name!r} for the identity network '
            f'({error}); install the package that provides it') from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ValueError(
            f'module {module_name!r} has no attribute {attribute!r}') from None


def read_state_dict(path: str, key: Optional[str], strip_prefix: str) -> dict:
    """The identity network's state dict from a local file."""
    checkpoint = read_weights(
        path, 'identity network weights',
        'set weights= to the file holding its state dict')
    if key is not None:
        if key not in checkpoint:
            raise ValueError(f'{path} has no entry {key!r} (state_dict_key)')
        checkpoint = checkpoint[key]
    elif isinstance(checkpoint.get('state_dict'), dict):
        checkpoint = checkpoint['state_dict']
    return {
        (name[len(strip_prefix):] if strip_prefix and name.startswith(strip_prefix)
         else name): value
        for name, value in checkpoint.items()
    }


def load_weights(network: nn.Module, state_dict: dict, path: str) -> None:
    """Load ``state_dict`` strictly, with a one-line error on a mismatch."""
    try:
        result = network.load_state_dict(state_dict, strict=False)
    except RuntimeError as error:  # tensors of other shapes
        first = str(error).strip().splitlines()[-1].strip()
        raise ValueError(
            f'{path} does not match the identity network ({first})') from None
    if result.missing_keys or result.unexpected_keys:
        raise ValueError(
            f'{path} does not match the identity network: '
            f'{len(result.missing_keys)} missing keys '
            f'{result.missing_keys[:3]}, {len(result.unexpected_keys)} '
            f'unexpected keys {result.unexpected_keys[:3]} (try strip_prefix '
            'or state_dict_key)')


@IDENTITY_EMBEDDERS.register_module()
class TorchEmbedder(IdentityEmbedder):
    """A user-supplied PyTorch network with weights from a local file.

    pose-evaluation uses OpenFace for faces (BGR, 96x96, values in [0, 1])
    and a person re-identification ResNet for bodies (RGB, 288x144,
    ImageNet normalisation); both fit these arguments.

    Args:
        network: ``'package.module:attribute'`` of a class or function that
            returns the ``nn.Module``, a ``MODELS`` config dict, or a module.
        weights: local file with the network's state dict (read with
            ``weights_only=True``); required unless ``network`` is a module.
        network_kwargs: keyword arguments for ``network`` when it is a path.
        input_size: ``(height, width)`` the frames are resized to.
        channel_order: ``'rgb'`` or ``'bgr'``.
        mean, std: per-channel normalisation applied to [0, 1] values.
        state_dict_key: entry of the file that holds the state dict (by
            default ``'state_dict'`` when present, else the whole file).
        strip_prefix: removed from the start of every key (``'module.'``).
        output_index: picks one output when the network returns a tuple.
        device: where the network runs.
        name: recorded in the results; by default the network and the file.
    """

    def __init__(self,
                 network: Union[str, dict, nn.Module],
                 weights: Optional[str] = None,
                 network_kwargs: Optional[dict] = None,
                 input_size: Union[int, Tuple[int, int]] = (96, 96),
                 channel_order: str = 'rgb',
                 mean: Sequence[float] = (0.0, 0.0, 0.0),
                 std: Sequence[float] = (1.0, 1.0, 1.0),
                 state_dict_key: Optional[str] = None,
                 strip_prefix: str = '',
                 output_index: Optional[int] = None,
                 device: str = 'cpu',
                 name: Optional[str] = None) -> None:
        if channel_order not in ('rgb', 'bgr'):
            raise ValueError(
                f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
        if weights is None and not isinstance(network, nn.Module):
            raise ValueError(
                'TorchEmbedder needs weights= (a local state dict file) for '
                f'the network {network!r}')
        self.network = self._build_network(network, network_kwargs or {})
        if weights is not None:
            load_weights(self.network,
                         read_state_dict(weights, state_dict_key, strip_prefix),
                         weights)
        self.network.to(device).eval()
        self.device = torch.device(device)
        self.input_size = as_size(input_size)
        self.flip_channels = channel_order == 'bgr'
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self.output_index = output_index
        described = network if isinstance(network, str) else type(self.network).__name__
        self.name = name or f'{described}@{osp.basename(weights or "module")}'

    @staticmethod
    def _build_network(network: Union[str, dict, nn.Module],
                       kwargs: dict) -> nn.Module:
        if isinstance(network, nn.Module):
            return network
        if isinstance(network, dict):
            from cpabmm.registry import MODELS
            built = MODELS.build(network)
        elif isinstance(network, str):
            built = import_object(network)(**kwargs)
        else:
            raise ValueError(
                "network must be 'package.module:attribute', a MODELS config "
                f'dict or an nn.Module, got {type(network).__name__}')
        if not isinstance(built, nn.Module):
            raise ValueError(
                f'the identity network {network!r} built a '
                f'{type(built).__name__}, not an nn.Module')
        return built

    @torch.no_grad()
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        images = resize_images(images.to(self.device).float(), self.input_size)
        if self.flip_channels:
            images = images.flip(1)
        output = self.network((images - self.mean) / self.std)
        if self.output_index is not None:
            output = output[self.output_index]
        if not isinstance(output, torch.Tensor):
            raise ValueError(
                f'the identity network returned {type(output).__name__}; set '
                'output_index to pick the embedding')
        return output.flatten(1)
