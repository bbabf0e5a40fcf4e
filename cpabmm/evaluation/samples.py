"""Reading the per-frame data samples that the test step produces.

Every metric receives, for each driven frame, a dict (see
``docs/evaluation.md``) holding at least ``prediction`` and the ground-truth
frame (``driving``) as float tensors ``[3, H, W]`` in [0, 1], and the
``video_id`` the frame belongs to. The dataset's fields may sit in a nested
``metainfo`` dict (the layout of ``ImageAnimator.predict``), where they do
not clash with model outputs of the same name (the predicted ``kp_source``
beside the ground-truth one). The helpers here look fields up and fail with
one line naming the field and the fix.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

CONTRACT = 'see docs/evaluation.md for the data sample contract'


METAINFO = 'metainfo'
_MISSING = object()


def find(sample: Mapping[str, Any], key: str, from_dataset: bool = False,
         default: Any = None) -> Any:
    """``sample[key]`` or ``sample['metainfo'][key]``, else ``default``.

    Fields from the dataset (``from_dataset``: ids, indices, ground truth)
    are looked up in ``metainfo`` first, everything else (model outputs and
    frames) at the top level first.
    """
    metainfo = sample.get(METAINFO)
    places = [sample, metainfo] if isinstance(metainfo, Mapping) else [sample]
    if from_dataset:
        places.reverse()
    for place in places:
        if key in place:
            return place[key]
    return default


def require(sample: Mapping[str, Any], key: str, metric: str,
            from_dataset: bool = False) -> Any:
    """:func:`find`, or a one-line ``ValueError`` listing the fields."""
    value = find(sample, key, from_dataset, _MISSING)
    if value is _MISSING:
        present = sorted(map(str, sample))
        metainfo = sample.get(METAINFO)
        if isinstance(metainfo, Mapping):
            present += [f'{METAINFO}.{name}' for name in sorted(map(str, metainfo))]
        raise ValueError(
            f"{metric}: the data sample has no '{key}' (fields present: "
            f"{', '.join(present) or 'none'}); {CONTRACT}")
    return value


def get_video_id(sample: Mapping[str, Any], metric: str) -> str:
    """The sample's ``video_id`` as a string."""
    return str(require(sample, 'video_id', metric, from_dataset=True))


def get_image(sample: Mapping[str, Any], key: str, metric: str) -> torch.Tensor:
    """A ``[3, H, W]`` floating-point image tensor from ``sample[key]``."""
    image = require(sample, key, metric)
    if not isinstance(image, torch.Tensor):
        raise ValueError(
            f"{metric}: '{key}' must be a torch.Tensor [3, H, W], got "
            f'{type(image).__name__}; {CONTRACT}')
    if image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(
            f"{metric}: '{key}' must have shape [3, H, W], got "
            f'{list(image.shape)}; {CONTRACT}')
    if not image.is_floating_point():
        raise ValueError(
            f"{metric}: '{key}' must be a float tensor in [0, 1], got "
            f'{image.dtype}; {CONTRACT}')
    return image


def get_image_pair(sample: Mapping[str, Any], pred_key: str, gt_key: str,
                   metric: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """The generated and the ground-truth image of one sample, same shape."""
    pred = get_image(sample, pred_key, metric)
    gt = get_image(sample, gt_key, metric)
    if pred.shape != gt.shape:
        raise ValueError(
            f"{metric}: '{pred_key}' {list(pred.shape)} and '{gt_key}' "
            f'{list(gt.shape)} differ in shape; {CONTRACT}')
    return pred, gt.to(pred.device)


def stack_image_pairs(samples: Sequence[Mapping[str, Any]], pred_key: str,
                      gt_key: str,
                      metric: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """Batches ``[B, 3, H, W]`` of generated and ground-truth images."""
    pairs = [get_image_pair(s, pred_key, gt_key, metric) for s in samples]
    shapes = {tuple(pred.shape) for pred, _ in pairs}
    if len(shapes) > 1:
        raise ValueError(
            f'{metric}: the frames of one batch differ in size '
            f'({sorted(shapes)}); {CONTRACT}')
    preds, gts = zip(*pairs)
    return torch.stack(preds), torch.stack(gts)


def as_size(size: Union[int, Sequence[int], None]) -> Optional[Tuple[int, int]]:
    """``(height, width)`` from an int, a pair, or None."""
    if size is None:
        return None
    if isinstance(size, int):
        return (size, size)
    height, width = size
    return (int(height), int(width))


def resize_images(images: torch.Tensor,
                  size: Optional[Tuple[int, int]]) -> torch.Tensor:
    """Bilinear, antialiased resize of ``[B, 3, H, W]`` (no-op at ``size``)."""
    if size is None or tuple(images.shape[-2:]) == tuple(size):
        return images
    return F.interpolate(
        images.float(), size=size, mode='bilinear', align_corners=False,
        antialias=True)
