"""The image encoder of Segment Anything (SAM), frozen, from an official checkpoint.

``segment-anything`` is imported lazily. Only the ``image_encoder.*`` entries
of an official checkpoint (``sam_vit_b_01ec64.pth``, ``sam_vit_l_0b3195.pth``,
``sam_vit_h_4b8939.pth``) are read, with ``weights_only=True``.
"""
from __future__ import annotations

from functools import partial
from typing import Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cpabmm.checkpoint import read_state_dict
from cpabmm.registry import MODELS
from .frozen import FrozenBackbone, build_context, load_exact, resolve_checkpoint

#: the published encoders (patch 16, window 14, 1024x1024 input, 256 output channels)
SAM_ARCHS = {
    'vit_b': dict(embed_dim=768, depth=12, num_heads=12, global_attn_indexes=(2, 5, 8, 11)),
    'vit_l': dict(embed_dim=1024, depth=24, num_heads=16, global_attn_indexes=(5, 11, 17, 23)),
    'vit_h': dict(embed_dim=1280, depth=32, num_heads=16, global_attn_indexes=(7, 15, 23, 31)),
}
SAM_DEFAULTS = dict(img_size=1024, patch_size=16, window_size=14, out_chans=256)
SAM_FILENAMES = {
    'vit_b': 'sam_vit_b_01ec64.pth',
    'vit_l': 'sam_vit_l_0b3195.pth',
    'vit_h': 'sam_vit_h_4b8939.pth',
}
SAM_URL = 'https://dl.fbaipublicfiles.com/segment_anything/'
SAM_PIXEL_MEAN = (123.675, 116.28, 103.53)
SAM_PIXEL_STD = (58.395, 57.12, 57.375)
ENCODER_PREFIX = 'image_encoder.'


def build_sam_encoder(arch: Mapping) -> nn.Module:
    """segment-anything's ``ImageEncoderViT`` configured as SAM builds it."""
    try:
        from segment_anything.modeling import ImageEncoderViT
    except ImportError:
        raise ImportError('the SAM keypoint loss needs the segment-anything package: '
                          'pip install segment-anything') from None
    return ImageEncoderViT(
        img_size=arch['img_size'], patch_size=arch['patch_size'], embed_dim=arch['embed_dim'],
        depth=arch['depth'], num_heads=arch['num_heads'], mlp_ratio=4.0,
        out_chans=arch['out_chans'], qkv_bias=True,
        norm_layer=partial(nn.LayerNorm, eps=1e-6), use_rel_pos=True,
        window_size=arch['window_size'], global_attn_indexes=tuple(arch['global_attn_indexes']))


def resolve_arch(arch: Union[str, Mapping]) -> Tuple[Optional[str], dict]:
    """``(name, full architecture dict)`` of a published name or a custom dict."""
    if isinstance(arch, str):
        if arch not in SAM_ARCHS:
            raise ValueError(f'unknown SAM arch {arch!r}: use one of {sorted(SAM_ARCHS)} '
                             'or a dict of ImageEncoderViT sizes')
        return arch, {**SAM_DEFAULTS, **SAM_ARCHS[arch]}
    required = {'embed_dim', 'depth', 'num_heads', 'global_attn_indexes'}
    if not required <= set(arch):
        raise ValueError(f'a custom SAM arch needs the keys {sorted(required)}, got {sorted(arch)}')
    return None, {**SAM_DEFAULTS, **arch}


@MODELS.register_module()
class SAMImageEncoder(FrozenBackbone):
    """Frozen SAM image encoder: images in [0, 1] -> ``[B, 256, 64, 64]``
    embeddings (for the published 1024x1024 input).

    Images are resized (bilinear, anti-aliased) so that their longest side is
    ``img_size``, normalised with SAM's pixel statistics and zero-padded at
    the bottom and right to a square, as SAM does.

    Args:
        arch: 'vit_b', 'vit_l', 'vit_h', or a dict of ``ImageEncoderViT``
            sizes (``embed_dim``, ``depth``, ``num_heads``,
            ``global_attn_indexes`` and optionally ``img_size``,
            ``patch_size``, ``window_size``, ``out_chans``) for small test
            encoders.
        pretrained: load the weights; ``False`` gives random weights (tests).
        checkpoint: the official SAM checkpoint; by default the torch hub
            cache's file of that arch (e.g. ``sam_vit_b_01ec64.pth``).
    """

    def __init__(self, arch: Union[str, Mapping] = 'vit_b', pretrained: bool = True,
                 checkpoint: Optional[str] = None):
        super().__init__()
        name, self.arch = resolve_arch(arch)
        self.img_size = self.arch['img_size']
        path = self._weight_file(name, checkpoint) if pretrained else None
        with build_context(pretrained):
            self.encoder = build_sam_encoder(self.arch)
        if path:
            self.load_encoder_weights(path)
        self.freeze()

    @staticmethod
    def _weight_file(name: Optional[str], checkpoint: Optional[str]) -> str:
        if name is None and not checkpoint:
            raise ValueError('a custom SAM arch needs checkpoint=PATH (or pretrained=False)')
        if name is None:
            return resolve_checkpoint(checkpoint, '', 'SAM image encoder', 'check the path')
        filename = SAM_FILENAMES[name]
        return resolve_checkpoint(
            checkpoint, filename, f'SAM {name}',
            f'download {SAM_URL}{filename} into that folder, or pass checkpoint=PATH')

    def load_encoder_weights(self, path: str) -> None:
        """Load the ``image_encoder.*`` entries of an official SAM checkpoint."""
        weights = read_state_dict(path)
        encoder_weights = {key[len(ENCODER_PREFIX):]: value for key, value in weights.items()
                           if key.startswith(ENCODER_PREFIX)}
        if not encoder_weights:
            raise ValueError(f'{path} has no {ENCODER_PREFIX}* entries: it is not an official '
                             'SAM checkpoint')
        load_exact(self.encoder, encoder_weights, path, f'the SAM image encoder {self.arch}')

    @property
    def embedding_size(self) -> int:
        """Side of the (square) embedding grid."""
        return self.img_size // self.arch['patch_size']

    def resized_shape(self, size: Sequence[int]) -> Tuple[int, int]:
        """``(h, w)`` of an image of ``size`` after the longest-side resize."""
        h, w = int(size[0]), int(size[1])
        scale = self.img_size / max(h, w)
        return int(h * scale + 0.5), int(w * scale + 0.5)

    def preprocess(self, images: Tensor) -> Tensor:
        """``[B, 3, H, W]`` in [0, 1] -> the encoder's ``[B, 3, S, S]`` input."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f'SAM needs RGB images [B, 3, H, W], got {list(images.shape)}')
        h, w = self.resized_shape(images.shape[-2:])
        if (h, w) != tuple(images.shape[-2:]):
            images = F.interpolate(images, size=(h, w), mode='bilinear', align_corners=False,
                                   antialias=True)
        mean = images.new_tensor(SAM_PIXEL_MEAN).view(1, 3, 1, 1) / 255
        std = images.new_tensor(SAM_PIXEL_STD).view(1, 3, 1, 1) / 255
        images = (images - mean) / std
        return F.pad(images, (0, self.img_size - w, 0, self.img_size - h))

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        """Embeddings ``[B, C, S/16, S/16]`` of images in [0, 1] (no gradient)."""
        return self.encoder(self.preprocess(images))

    def embedding_coordinates(self, keypoints: Tensor, image_size: Sequence[int]) -> Tensor:
        """Map keypoints of an ``image_size`` image to ``grid_sample`` coordinates
        (``align_corners=False``) of its embedding.

        Keypoints are in [-1, 1] with -1 and 1 the centres of the first and last
        pixels (the project's convention); the embedding covers the resized
        image in its top-left part, one cell per ``patch_size`` pixels.
        """
        h, w = int(image_size[0]), int(image_size[1])
        resized_h, resized_w = self.resized_shape((h, w))
        size = keypoints.new_tensor([w, h])
        covered = keypoints.new_tensor([resized_w, resized_h]) / self.img_size
        pixel = (keypoints + 1) * (size - 1) / 2  # pixel-centre coordinates
        fraction = (pixel + 0.5) / size * covered  # of the padded square
        return 2 * fraction - 1
