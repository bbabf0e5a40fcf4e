"""Input checks and the weighted-loss base shared by the losses."""
from __future__ import annotations

from typing import Callable, Dict, Mapping, Union

from torch import Tensor, nn

KeypointsLike = Union[Tensor, Mapping[str, Tensor]]


def check_same_shape(first: Tensor, second: Tensor, names: str) -> None:
    """Raise a one-line ValueError unless both tensors have the same shape."""
    if first.shape != second.shape:
        raise ValueError(f'{names} must have the same shape, got {list(first.shape)} '
                         f'and {list(second.shape)}')


def check_images(images: Tensor, name: str) -> None:
    """Raise unless ``images`` is ``[B, C, H, W]``."""
    if images.dim() != 4:
        raise ValueError(f'{name} must be images [B, C, H, W], got {list(images.shape)}')


def keypoint_values(keypoints: KeypointsLike, name: str) -> Tensor:
    """``[B, K, 2]`` coordinates from a keypoint dict (``'value'``) or a tensor."""
    value = keypoints.get('value') if isinstance(keypoints, Mapping) else keypoints
    if not isinstance(value, Tensor) or value.dim() != 3 or value.shape[-1] != 2:
        shape = list(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise ValueError(f"{name} must be [B, K, 2] (or a dict with such a 'value'), got {shape}")
    return value


class WeightedLoss(nn.Module):
    """A loss function times ``loss_weight``, returned as ``{loss_name: value}``.

    Subclasses set ``function`` (a ``staticmethod``); ``forward`` passes its
    arguments on unchanged.
    """

    function: Callable[..., Tensor]

    def __init__(self, loss_weight: float, loss_name: str):
        super().__init__()
        self.loss_weight = float(loss_weight)
        self.loss_name = loss_name

    def forward(self, *args, **kwargs) -> Dict[str, Tensor]:
        return {self.loss_name: self.loss_weight * self.function(*args, **kwargs)}

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}, loss_name={self.loss_name!r}'
