"""Drawing keypoints on frames, in the one keypoint palette."""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np


def keypoint_colors(count: int, colormap: str = 'gist_rainbow') -> np.ndarray:
    """``[count, 3]`` uint8 RGB colours spread over a matplotlib colormap, so
    that keypoint ``k`` has the same colour in every panel, frame and picture
    (``gist_rainbow``, the palette of the FOMM/TPSMM visualisations)."""
    from matplotlib import colormaps
    positions = np.linspace(0, 1, count, endpoint=False) if count else np.zeros(0)
    return (colormaps[colormap](positions)[:, :3] * 255).round().astype(np.uint8)


def keypoints_to_pixels(points: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Keypoints ``[K, 2]`` in [-1, 1] (x first, ``align_corners=True``) as
    pixel coordinates of an image of ``size`` = ``(height, width)``."""
    height, width = size
    points = np.asarray(points, dtype=np.float64)
    return (points + 1) / 2 * np.array([width - 1, height - 1])


def draw_keypoints(image: np.ndarray, points: np.ndarray, colors: Optional[np.ndarray] = None,
                   radius: Optional[int] = None, filled: bool = True) -> np.ndarray:
    """A copy of the ``[H, W, 3]`` uint8 ``image`` with a mark at each
    keypoint (``[K, 2]`` in [-1, 1], an array or a tensor).

    Args:
        colors: ``[K, 3]`` uint8 RGB; default :func:`keypoint_colors`.
        radius: dot radius in pixels; default about 1/64 of the image side.
        filled: a filled dot, or else a one-pixel ring just outside it.
    """
    import cv2
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f'keypoints must be [K, 2], got shape {points.shape}')
    colors = keypoint_colors(len(points)) if colors is None else np.asarray(colors)
    radius = radius or max(1, round(min(image.shape[:2]) / 64))
    canvas = np.ascontiguousarray(image).copy()
    shift = 4  # sub-pixel positions, in 1/16 pixel
    for (x, y), color in zip(keypoints_to_pixels(points, image.shape[:2]), colors):
        if np.isfinite(x) and np.isfinite(y):
            center = (int(round(x * (1 << shift))), int(round(y * (1 << shift))))
            cv2.circle(canvas, center, (radius + (not filled)) << shift,
                       tuple(int(c) for c in color), -1 if filled else 1, cv2.LINE_AA, shift)
    return canvas
