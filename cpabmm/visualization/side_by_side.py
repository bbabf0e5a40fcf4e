"""Frames that show several pictures next to each other."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from .keypoints import draw_keypoints
from .labels import draw_label

#: preview frames (the demo's side-by-side and comparison videos) of small
#: models are enlarged, pixel by pixel, to at least this height and width
PREVIEW_MIN_SIZE = 256

Size = Tuple[int, int]


def side_by_side(panels: Sequence[np.ndarray]) -> np.ndarray:
    """``[H, W_i, 3]`` uint8 panels of one height, left to right."""
    if not panels:
        raise ValueError('side_by_side needs at least one panel')
    heights = {panel.shape[0] for panel in panels}
    if len(heights) > 1:
        raise ValueError(f'panels must have one height, got {sorted(heights)}')
    return np.concatenate([np.asarray(panel, np.uint8) for panel in panels], axis=1)


def enlargement(size: Size, min_size: int) -> int:
    """The integer factor :func:`enlarge` repeats pixels by for a panel of
    ``size`` = ``(height, width)``: the smallest that brings its shorter
    side to at least ``min_size`` (1 when it is there already)."""
    return max(1, -(-min_size // min(size)))


def enlarge(panel: np.ndarray, min_size: int) -> np.ndarray:
    """``panel`` repeated pixel by pixel (an integer factor, so that small
    frames stay sharp) until its shorter side is at least ``min_size``."""
    factor = enlargement(panel.shape[:2], min_size)
    if factor == 1:
        return panel
    return np.repeat(np.repeat(panel, factor, axis=0), factor, axis=1)


def preview_size(sizes: Sequence[Size], min_size: int = PREVIEW_MIN_SIZE) -> Size:
    """One panel size for frames of several ``sizes``: the largest (by
    area; the first of equals), enlarged as :func:`enlarge` would."""
    if not sizes:
        raise ValueError('preview_size needs at least one size')
    height, width = max(sizes, key=lambda size: size[0] * size[1])
    factor = enlargement((height, width), min_size)
    return height * factor, width * factor


def panel_row(panels: Sequence[np.ndarray],
              keypoints: Optional[Sequence[Optional[np.ndarray]]] = None,
              labels: Optional[Sequence[Optional[str]]] = None,
              min_size: int = 0) -> np.ndarray:
    """``[H, W_i, 3]`` uint8 panels side by side, each enlarged first when
    its shorter side is below ``min_size`` (:func:`enlarge`), then marked
    with its ``keypoints`` (``[K, 2]`` in [-1, 1], or None) and titled with
    its label (:func:`~cpabmm.visualization.labels.draw_label`, or None)."""
    for name, values in (('keypoints', keypoints), ('labels', labels)):
        if values is not None and len(values) != len(panels):
            raise ValueError(f'{name} must hold one entry per panel ({len(panels)}), got '
                             f'{len(values)}')
    panels = [enlarge(panel, min_size) for panel in panels]
    if keypoints is not None:
        panels = [panel if points is None else draw_keypoints(panel, points)
                  for panel, points in zip(panels, keypoints)]
    if labels is not None:
        panels = [panel if label is None else draw_label(panel, label)
                  for panel, label in zip(panels, labels)]
    return side_by_side(panels)


def animation_panels(source: np.ndarray, driving: np.ndarray, result: np.ndarray,
                     keypoints: Optional[Sequence[np.ndarray]] = None,
                     min_size: int = 0) -> np.ndarray:
    """One frame ``source | driving | result``; with ``keypoints`` (three
    ``[K, 2]`` arrays in [-1, 1]: of the source, of the driving frame and the
    ones the result was animated to), each panel shows its keypoints in
    matching colours. Panels with a shorter side below ``min_size`` are
    enlarged first."""
    if keypoints is not None and len(keypoints) != 3:
        raise ValueError('keypoints must hold three sets: source, driving, result')
    return panel_row((source, driving, result), keypoints, min_size=min_size)
