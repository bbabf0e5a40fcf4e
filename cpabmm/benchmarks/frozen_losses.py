"""Cost of the frozen-network losses (``tools/benchmark.py losses``).

The SAM keypoint semantic loss per call on a (source, driving) batch: with
the encoder run every time (no cache), a cold cache (encode and store), a
warm memory cache and a warm on-disk store; and the DINO ViT-B/8 structure
alignment loss, forward and backward. Random weights (``pretrained=False``)
cost the same time as the published ones.
"""
from __future__ import annotations

import os
import tempfile
from typing import Dict, Mapping, Tuple, Union

import torch

from cpabmm.models.backbones import SAMImageEncoder
from cpabmm.models.losses import KeypointSemanticLoss, StructureAlignmentLoss
from .timing import Timing, measure

#: a SAM encoder of the published structure, small enough for quick runs
TINY_SAM = dict(img_size=128, embed_dim=32, depth=2, num_heads=2, global_attn_indexes=(1,),
                window_size=2, out_chans=16)
SAM_ARCHS = {'tiny': TINY_SAM, 'vit_b': 'vit_b'}
#: a DINO ViT of the published structure (patch 8), small enough for quick runs
TINY_DINO = dict(embed_dim=32, depth=2, num_heads=2)
#: DINOViT arguments of each DINO setting (``{}``: the published ViT-B/8)
DINO_ARCHS = {'tiny': TINY_DINO, 'vit_b8': {}}


def _setting(name: str, settings: Mapping, what: str):
    if name not in settings:
        raise ValueError(f'unknown {what} setting {name!r}: use one of {sorted(settings)}')
    return settings[name]


def sam_arch(name: str) -> Union[str, dict]:
    """The SAM encoder arch of a benchmark setting: ``'vit_b'`` (published,
    1024 px input) or ``'tiny'`` (:data:`TINY_SAM`, 128 px input)."""
    return _setting(name, SAM_ARCHS, 'SAM')


def dino_arch(name: str) -> dict:
    """The DINOViT arguments of a benchmark setting: ``'vit_b8'`` (published)
    or ``'tiny'`` (:data:`TINY_DINO`)."""
    return _setting(name, DINO_ARCHS, 'DINO')


def sam_loss_cost(arch: Union[str, Mapping], batch: int, size: int,
                  repeats: int) -> Tuple[Dict[str, Timing], int]:
    """Median seconds of one encoder forward (``2 * batch`` frames) and of a
    loss step (forward + backward to the keypoints) with no cache, a cold
    cache (encode + store), a warm memory cache and a warm disk store; and
    the bytes of one cache entry on disk."""
    frames = torch.rand(2 * batch, 3, size, size)
    source, driving = frames[:batch], frames[batch:]
    keys = ([('clip', i) for i in range(batch)], [('clip', batch + i) for i in range(batch)])
    kp_source = (torch.rand(batch, 50, 2) * 2 - 1).requires_grad_()
    kp_driving = (torch.rand(batch, 50, 2) * 2 - 1).requires_grad_()
    encoder = SAMImageEncoder(arch=arch, pretrained=False)

    def step(loss: KeypointSemanticLoss, with_keys: bool) -> None:
        frame_keys = keys if with_keys else (None, None)
        value = loss(source, driving, kp_source, kp_driving, *frame_keys)
        value['loss_keypoint_semantic'].backward()

    def timed(function, count: int = repeats) -> Timing:
        return measure(function, count, warmup=False, reduce='median')

    results = {f'encoder forward ({2 * batch} frames)': timed(lambda: encoder(frames), 1)}
    uncached = KeypointSemanticLoss(encoder=encoder, cache=None)
    results['loss step, no cache'] = timed(lambda: step(uncached, False))
    with tempfile.TemporaryDirectory() as folder:
        cached = KeypointSemanticLoss(encoder=encoder, cache=dict(cache_dir=folder))
        results['loss step, cold cache (encode + store)'] = timed(lambda: step(cached, True), 1)
        results['loss step, warm memory cache'] = timed(lambda: step(cached, True), 5)
        reader = KeypointSemanticLoss(encoder=encoder, cache=dict(cache_dir=folder, max_bytes=0))
        results['loss step, warm disk store'] = timed(lambda: step(reader, True), 5)
        entry_bytes = os.path.getsize(cached.cache.path(keys[0][0]))
    return results, entry_bytes


def dino_loss_cost(batch: int, size: int, repeats: int, arch: Mapping = DINO_ARCHS['vit_b8']
                   ) -> Timing:
    """Median seconds of the DINO structure loss (backbone arguments
    ``arch``), forward + backward to the prediction, on ``batch`` frames of
    ``size`` px (after a warm-up)."""
    loss = StructureAlignmentLoss(backbone=dict(type='DINOViT', pretrained=False, **arch))
    driving = torch.rand(batch, 3, size, size)
    prediction = torch.rand(batch, 3, size, size, requires_grad=True)
    return measure(lambda: loss(prediction, driving)['loss_structure'].backward(), repeats,
                   reduce='median')
