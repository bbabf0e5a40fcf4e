"""The one conversion of float pictures to uint8."""
from __future__ import annotations

from typing import Union

import numpy as np
import torch


def to_uint8(images: Union[torch.Tensor, np.ndarray]) -> np.ndarray:
    """Pictures with values in [0, 1] as contiguous ``[..., H, W, 3]`` uint8
    RGB: clamped, scaled by 255 and rounded (half to even); one channel is
    replicated to three.

    Args:
        images: a tensor ``[..., C, H, W]`` (channels first, as models use)
            or an array ``[..., H, W, C]`` (channels last), C = 1 or 3.
    """
    if isinstance(images, torch.Tensor):
        values = images.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8)
        array = values.movedim(-3, -1).cpu().numpy()
    else:
        array = np.rint(np.clip(images, 0, 1) * 255).astype(np.uint8)
    if array.shape[-1] not in (1, 3):
        raise ValueError(f'pictures must have 1 or 3 channels, got shape {images.shape}')
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return np.ascontiguousarray(array)
