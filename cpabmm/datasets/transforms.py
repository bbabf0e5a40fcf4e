"""Augmentations and packing for (source, driving) frame pairs.

Every transform acts on both frames of an item with the same random draw, as
the original methods' clip-level augmentation does. Frames are ``[H, W, 3]``
arrays, ``uint8`` or ``float32`` in [0, 1]; keypoints (``kp_source``,
``kp_driving``, ``[P, 2]``, x first, in [-1, 1] with the
``grid_sample(align_corners=True)`` convention) follow every geometric change.
No transform writes into its input arrays.
"""
from typing import Callable, Dict, List, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from cpabmm.io import to_unit_float
from cpabmm.registry import TRANSFORMS

FRAME_KEYS = ('source', 'driving')
KEYPOINT_KEYS = ('kp_source', 'kp_driving')
# Keys that belong to one frame of the pair; the time flip swaps each couple.
PAIRED_KEYS = (FRAME_KEYS, KEYPOINT_KEYS, ('source_index', 'driving_index'),
               ('kp_source_visible', 'kp_driving_visible'))


def build_pipeline(pipeline: Sequence[Union[dict, Callable]]) -> List[Callable]:
    """Build transform configs with cpabmm's registry (no default scope needed)."""
    return [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]


def _frame_pairs(results: dict):
    """(frame key, keypoint key) of each frame present in ``results``."""
    return [(f, k) for f, k in zip(FRAME_KEYS, KEYPOINT_KEYS) if f in results]


def _map_keypoints(kp: np.ndarray, size_in: Tuple[int, int], size_out: Tuple[int, int],
                   scale: Tuple[float, float], offset: Tuple[float, float]) -> np.ndarray:
    """Move normalised keypoints through a pixel map ``p' = p * scale + offset``.

    Sizes are ``(height, width)``; scale and offset are ``(x, y)``.
    """
    kp = np.asarray(kp, dtype=np.float32)
    out = np.empty_like(kp)
    for axis, (n_in, n_out) in enumerate(zip(size_in[::-1], size_out[::-1])):
        pixel = (kp[:, axis] + 1) * (n_in - 1) / 2
        pixel = pixel * scale[axis] + offset[axis]
        out[:, axis] = 2 * pixel / max(n_out - 1, 1) - 1
    return out


def _resize(results: dict, size_of) -> dict:
    """Resize each frame to ``size_of(height, width) -> (height, width)``."""
    for frame_key, kp_key in _frame_pairs(results):
        frame = results[frame_key]
        size_in = frame.shape[:2]
        size_out = size_of(*size_in)
        if size_out == size_in:
            continue
        shrink = size_out[0] * size_out[1] < size_in[0] * size_in[1]
        interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        results[frame_key] = cv2.resize(frame, size_out[::-1], interpolation=interpolation)
        if kp_key in results:
            sx, sy = size_out[1] / size_in[1], size_out[0] / size_in[0]
            results[kp_key] = _map_keypoints(results[kp_key], size_in, size_out, (sx, sy),
                                             (0.5 * sx - 0.5, 0.5 * sy - 0.5))
    return results


def _pair(size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(size, int):
        return (size, size)
    if len(size) != 2:
        raise ValueError(f'size must be an int or (height, width), got {size!r}')
    return (int(size[0]), int(size[1]))


@TRANSFORMS.register_module()
class RandomTimeFlip(BaseTransform):
    """Swap source and driving (with their keypoints and indices) with probability ``prob``."""

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = prob

    def transform(self, results: dict) -> dict:
        if np.random.rand() < self.prob:
            for first, second in PAIRED_KEYS:
                if first in results and second in results:
                    results[first], results[second] = results[second], results[first]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob})'


@TRANSFORMS.register_module()
class RandomHorizontalFlip(BaseTransform):
    """Mirror both frames left-right with probability ``prob``; keypoints follow."""

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = prob

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        for frame_key, kp_key in _frame_pairs(results):
            results[frame_key] = np.ascontiguousarray(results[frame_key][:, ::-1])
            if kp_key in results:
                kp = np.array(results[kp_key], dtype=np.float32)
                kp[:, 0] = -kp[:, 0]
                results[kp_key] = kp
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob})'


@TRANSFORMS.register_module()
class ColorJitter(BaseTransform):
    """Random brightness, contrast, saturation and hue, the same for both frames.

    Factors are drawn uniformly from ``[1 - b, 1 + b]`` (brightness, contrast,
    saturation) and the hue shift from ``[-hue, hue]`` turns (``hue <= 0.5``);
    the four changes are applied in random order, as torchvision's
    ``ColorJitter`` does. Output frames are ``float32`` in [0, 1].
    """

    def __init__(self, brightness: float = 0.0, contrast: float = 0.0,
                 saturation: float = 0.0, hue: float = 0.0) -> None:
        for name, value in (('brightness', brightness), ('contrast', contrast),
                            ('saturation', saturation)):
            if not 0 <= value < 1:
                raise ValueError(f'ColorJitter {name} must lie in [0, 1), got {value}')
        if not 0 <= hue <= 0.5:
            raise ValueError(f'ColorJitter hue must lie in [0, 0.5], got {hue}')
        self.brightness, self.contrast = brightness, contrast
        self.saturation, self.hue = saturation, hue

    @staticmethod
    def _gray(image: np.ndarray) -> np.ndarray:
        return image @ np.array([0.299, 0.587, 0.114], dtype=np.float32)

    @staticmethod
    def _blend(image: np.ndarray, other, factor: float) -> np.ndarray:
        return np.clip(factor * image + (1 - factor) * other, 0, 1)

    def _draw(self) -> Dict[str, float]:
        draws = {}
        for name in ('brightness', 'contrast', 'saturation'):
            spread = getattr(self, name)
            if spread > 0:
                draws[name] = np.random.uniform(1 - spread, 1 + spread)
        if self.hue > 0:
            draws['hue'] = np.random.uniform(-self.hue, self.hue)
        order = list(draws)
        np.random.shuffle(order)
        return {name: draws[name] for name in order}

    def _apply(self, image: np.ndarray, name: str, value: float) -> np.ndarray:
        if name == 'brightness':
            return np.clip(image * value, 0, 1)
        if name == 'contrast':
            return self._blend(image, self._gray(image).mean(), value)
        if name == 'saturation':
            return self._blend(image, self._gray(image)[..., None], value)
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)  # hue in degrees
        hsv[..., 0] = np.mod(hsv[..., 0] + 360.0 * value, 360.0)
        return np.clip(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), 0, 1)

    def transform(self, results: dict) -> dict:
        draws = self._draw()
        for frame_key, _ in _frame_pairs(results):
            image = to_unit_float(results[frame_key])
            for name, value in draws.items():
                image = self._apply(image, name, value)
            results[frame_key] = image
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(brightness={self.brightness}, contrast='
                f'{self.contrast}, saturation={self.saturation}, hue={self.hue})')


@TRANSFORMS.register_module()
class ResizeFrames(BaseTransform):
    """Resize each frame to ``size`` (``(height, width)`` or an int for square)."""

    def __init__(self, size: Union[int, Sequence[int]]) -> None:
        self.size = _pair(size)

    def transform(self, results: dict) -> dict:
        return _resize(results, lambda h, w: self.size)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size})'


@TRANSFORMS.register_module()
class RandomResizeFrames(BaseTransform):
    """Scale both frames by one random factor from ``ratio`` (a ``(low, high)`` range)."""

    def __init__(self, ratio: Sequence[float] = (0.9, 1.1)) -> None:
        if len(ratio) != 2 or not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f'ratio must be (low, high) with 0 < low <= high, got {ratio}')
        self.ratio = tuple(ratio)

    def transform(self, results: dict) -> dict:
        factor = np.random.uniform(*self.ratio)
        return _resize(results, lambda h, w: (max(1, round(h * factor)),
                                              max(1, round(w * factor))))

    def __repr__(self) -> str:
        return f'{type(self).__name__}(ratio={self.ratio})'


@TRANSFORMS.register_module()
class RandomCropFrames(BaseTransform):
    """Crop both frames to ``size`` at one random relative position.

    Frames smaller than ``size`` are first zero-padded evenly on each side.
    """

    def __init__(self, size: Union[int, Sequence[int]]) -> None:
        self.size = _pair(size)

    def transform(self, results: dict) -> dict:
        out_h, out_w = self.size
        where_y, where_x = np.random.rand(2)
        for frame_key, kp_key in _frame_pairs(results):
            frame = results[frame_key]
            height, width = frame.shape[:2]
            pad_y, pad_x = max(0, out_h - height), max(0, out_w - width)
            if pad_y or pad_x:
                frame = np.pad(frame, ((pad_y // 2, pad_y - pad_y // 2),
                                       (pad_x // 2, pad_x - pad_x // 2), (0, 0)))
            top = int(where_y * (frame.shape[0] - out_h + 1))
            left = int(where_x * (frame.shape[1] - out_w + 1))
            results[frame_key] = np.ascontiguousarray(
                frame[top:top + out_h, left:left + out_w])
            if kp_key in results:
                results[kp_key] = _map_keypoints(
                    results[kp_key], (height, width), self.size, (1.0, 1.0),
                    (pad_x // 2 - left, pad_y // 2 - top))
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size})'


@TRANSFORMS.register_module()
class PackFramePair(BaseTransform):
    """Turn frames into ``[3, H, W]`` float tensors in [0, 1] and keypoints into tensors.

    Every other key (``video_id``, frame indices, ...) is passed through.
    """

    def transform(self, results: dict) -> dict:
        for frame_key, kp_key in _frame_pairs(results):
            frame = results[frame_key]
            if frame.ndim != 3 or frame.shape[2] != 3:
                raise ValueError(f'{frame_key} frame must be [H, W, 3], got '
                                 f'{tuple(frame.shape)}; check the loading step')
            frame = np.clip(to_unit_float(frame), 0, 1).transpose(2, 0, 1)
            results[frame_key] = torch.from_numpy(np.ascontiguousarray(frame))
            if kp_key in results:
                results[kp_key] = torch.as_tensor(np.asarray(results[kp_key]),
                                                  dtype=torch.float32)
        for key in ('kp_source_visible', 'kp_driving_visible'):
            if key in results:
                results[key] = torch.as_tensor(np.asarray(results[key]), dtype=torch.bool)
        return results
