"""Frames that show several pictures next to each other."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .keypoints import draw_keypoints


def side_by_side(panels: Sequence[np.ndarray]) -> np.ndarray:
    """``[H, W_i, 3]`` uint8 panels of one height, left to right."""
    if not panels:
        raise ValueError('side_by_side needs at least one panel')
    heights = {panel.shape[0] for panel in panels}
    if len(heights) > 1:
        raise ValueError(f'panels must have one height, got {sorted(heights)}')
    return np.concatenate([np.asarray(panel, np.uint8) for panel in panels], axis=1)


def enlarge(panel: np.ndarray, min_size: int) -> np.ndarray:
    """``panel`` repeated pixel by pixel (an integer factor, so that small
    frames stay sharp) until its shorter side is at least ``min_size``."""
    factor = -(-min_size // min(panel.shape[:2]))
    if factor <= 1:
        return panel
    return np.repeat(np.repeat(panel, factor, axis=0), factor, axis=1)


def animation_panels(source: np.ndarray, driving: np.ndarray, result: np.ndarray,
                     keypoints: Optional[Sequence[np.ndarray]] = None,
                     min_size: int = 0) -> np.ndarray:
    """One frame ``source | driving | result``; with ``keypoints`` (three
    ``[K, 2]`` arrays in [-1, 1]: of the source, of the driving frame and the
    ones the result was animated to), each panel shows its keypoints in
    matching colours. Panels with a shorter side below ``min_size`` are
    enlarged first."""
    panels = [enlarge(panel, min_size) for panel in (source, driving, result)]
    if keypoints is not None:
        if len(keypoints) != 3:
            raise ValueError('keypoints must hold three sets: source, driving, result')
        panels = [draw_keypoints(panel, points) for panel, points in zip(panels, keypoints)]
    return side_by_side(panels)
