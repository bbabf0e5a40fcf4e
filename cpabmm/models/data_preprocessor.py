"""Batch preparation for the animator: device, dtype, inputs vs metadata."""
from __future__ import annotations

from typing import Any, Dict, List, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor
from torch import Tensor

from cpabmm.registry import MODELS

IMAGE_KEYS = ('source', 'driving')
#: images that join the inputs when a batch has them: the initial driving
#: frame of relative motion (cross-identity animation)
OPTIONAL_IMAGE_KEYS = ('driving_initial', )


@MODELS.register_module()
class AnimationDataPreprocessor(BaseDataPreprocessor):
    """Turn a collated batch into ``{'inputs': ..., 'data_samples': ...}``.

    The batch is a dict with ``source`` and ``driving`` images ``[B, C, H, W]``
    (floats in [0, 1], or uint8 in [0, 255], converted here) or lists of
    ``[C, H, W]`` images (MMEngine's ``pseudo_collate``), or a list of
    per-sample dicts. Images go to the model's
    device as ``inputs`` (with ``driving_initial`` when the batch has it, see
    ``ImageAnimator.predict``); every other entry (video ids, frame indices,
    ground-truth keypoints, ...) becomes the per-sample ``data_samples`` dicts.
    """

    def forward(self, data: Union[Dict[str, Any], Sequence[Dict[str, Any]]],
                training: bool = False) -> Dict[str, Any]:
        if isinstance(data, (list, tuple)):
            data = self._collate(data)
        if not isinstance(data, dict) or any(k not in data for k in IMAGE_KEYS):
            found = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"a batch needs 'source' and 'driving' images, got {found}")
        data = self.cast_data(dict(data))
        keys = IMAGE_KEYS + tuple(key for key in OPTIONAL_IMAGE_KEYS if key in data)
        inputs = {key: self._to_float(key, data.pop(key)) for key in keys}
        batch = inputs['source'].shape[0]
        return {'inputs': inputs, 'data_samples': self._split(data, batch)}

    @staticmethod
    def _collate(samples: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
        """A dict of per-key lists (images are stacked later)."""
        return {key: [sample[key] for sample in samples] for key in samples[0]}

    @staticmethod
    def _to_float(key: str, image: Any) -> Tensor:
        if isinstance(image, (list, tuple)) and all(isinstance(i, Tensor) for i in image):
            image = torch.stack(list(image))
        if not isinstance(image, Tensor):
            raise ValueError(f'{key} must be a tensor [B, C, H, W], got {type(image).__name__}')
        if image.dtype == torch.uint8:
            return image.float() / 255
        if not image.is_floating_point():
            raise ValueError(f'{key} must be float in [0, 1] or uint8, got {image.dtype}')
        return image

    @staticmethod
    def _split(meta: Dict[str, Any], batch: int) -> List[Dict[str, Any]]:
        """Per-sample dicts of the batched metadata."""
        samples: List[Dict[str, Any]] = [{} for _ in range(batch)]
        for key, values in meta.items():
            if isinstance(values, (Tensor, list, tuple)) and len(values) == batch:
                for sample, value in zip(samples, values):
                    sample[key] = value
            else:
                for sample in samples:
                    sample[key] = values
        return samples
