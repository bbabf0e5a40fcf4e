"""CPABMM's SAM-guided keypoint semantic loss.

A frozen SAM image encoder embeds the source and the driving frame; the
embedding is sampled bilinearly at every keypoint, and corresponding source
and driving keypoints are pulled towards features of the same semantic part:
``mean_k (1 - cos(F_s(kp_s,k), F_d(kp_d,k)))``. The published code omits this
loss; the paper gives it weight 1.

The encoder is far heavier than the animation networks, so embeddings can be
cached per frame (see :class:`~.feature_cache.FeatureCache`): with keys, each
frame is encoded once per run (or once ever, with an on-disk store).
"""
from __future__ import annotations

from typing import Dict, Hashable, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cpabmm.registry import MODELS
from .feature_cache import FeatureCache
from .reconstruction import build_backbone
from .utils import KeypointsLike, check_images, check_same_shape, keypoint_values


def sample_at_keypoints(embedding: Tensor, coordinates: Tensor) -> Tensor:
    """Bilinear samples of ``[B, C, h, w]`` at ``grid_sample`` coordinates
    ``[B, K, 2]`` (``align_corners=False``, border padding): ``[B, K, C]``."""
    samples = F.grid_sample(embedding, coordinates.unsqueeze(2), mode='bilinear',
                            padding_mode='border', align_corners=False)
    return samples.squeeze(-1).transpose(1, 2)


def semantic_consistency(source_features: Tensor, driving_features: Tensor) -> Tensor:
    """``mean (1 - cos)`` over corresponding ``[B, K, C]`` features."""
    return (1 - F.cosine_similarity(source_features, driving_features, dim=-1, eps=1e-8)).mean()


@MODELS.register_module()
class KeypointSemanticLoss(nn.Module):
    """``loss_weight * mean_k (1 - cos(F_s(kp_s,k), F_d(kp_d,k)))``.

    Gradients reach the keypoints only (through the bilinear sampling); the
    frames are encoded without gradient.

    Args:
        encoder: the frozen encoder (default: SAM ViT-B from a local
            checkpoint; ``arch`` 'vit_l'/'vit_h' and ``checkpoint=PATH`` select
            the others). Any module with ``embedding_coordinates`` and an
            images -> embedding ``forward`` works.
        loss_weight: the weight (paper: 1).
        cache: :class:`FeatureCache` arguments (``max_bytes``, ``cache_dir``,
            ``dtype``), or ``None`` to encode every frame at every call.
        loss_name: key of the returned dict.
    """

    def __init__(self, encoder: Union[dict, nn.Module] = dict(type='SAMImageEncoder', arch='vit_b'),
                 loss_weight: float = 1., cache: Optional[dict] = dict(),
                 loss_name: str = 'loss_keypoint_semantic'):
        super().__init__()
        self.encoder = build_backbone(encoder)
        self.loss_weight = float(loss_weight)
        self.cache = FeatureCache(**cache) if cache is not None else None
        self.loss_name = loss_name

    @torch.no_grad()
    def embed(self, images: Tensor, keys: Optional[Sequence[Hashable]] = None) -> Tensor:
        """Embeddings of ``[B, 3, H, W]`` frames in [0, 1], from the cache
        where ``keys`` (one per frame) are given and known."""
        check_images(images, 'images')
        if self.cache is None or keys is None:
            return self.encoder(images)
        return self.cache.get_or_compute(keys, images, self.encoder)

    def forward(self, source: Tensor, driving: Tensor, kp_source: KeypointsLike,
                kp_driving: KeypointsLike, source_keys: Optional[Sequence[Hashable]] = None,
                driving_keys: Optional[Sequence[Hashable]] = None) -> Dict[str, Tensor]:
        """Args:
            source, driving: ``[B, 3, H, W]`` frames in [0, 1].
            kp_source, kp_driving: ``[B, K, 2]`` keypoints in [-1, 1] (or
                keypoint dicts).
            source_keys, driving_keys: cache keys of the frames (as they are
                after augmentation, e.g. ``(video, frame, crop, flip)``), or
                ``None`` to encode them now.
        """
        check_same_shape(source, driving, 'source and driving')
        value_source = keypoint_values(kp_source, 'kp_source')
        value_driving = keypoint_values(kp_driving, 'kp_driving')
        check_same_shape(value_source, value_driving, 'kp_source and kp_driving')
        size = source.shape[-2:]
        features_source = sample_at_keypoints(
            self.embed(source, source_keys),
            self.encoder.embedding_coordinates(value_source, size))
        features_driving = sample_at_keypoints(
            self.embed(driving, driving_keys),
            self.encoder.embedding_coordinates(value_driving, size))
        value = semantic_consistency(features_source, features_driving)
        return {self.loss_name: self.loss_weight * value}
