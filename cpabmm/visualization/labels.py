"""Text labels on pictures: the column titles of comparison videos.

A label is white text on an opaque black box in the picture's top-left
corner; :func:`label_box` says which pixels it covers (nothing else is
changed). The text is scaled with the picture, shrunk to fit its width, and
shortened in the middle (``'tpsmm_k10..synthetic-64'``) when even the
smallest legible size is too wide, so that both ends of a long config name
stay visible.
"""
from __future__ import annotations

from typing import NamedTuple, Tuple

import numpy as np

#: font scale per pixel of the picture's shorter side (0.5 at 256 pixels)
SCALE_PER_PIXEL = 1 / 512
#: the smallest font scale used before the text is shortened
MIN_SCALE = 0.35
#: what replaces the middle of a text that is too long
ELLIPSIS = '..'
TEXT_COLOR = (255, 255, 255)
BOX_COLOR = (0, 0, 0)


class _Layout(NamedTuple):
    text: str
    scale: float
    thickness: int
    origin: Tuple[int, int]  # (x, y) of the text's baseline start
    box: Tuple[int, int, int, int]  # top, left, bottom, right (exclusive)


def _shorten(text: str, keep: int) -> str:
    """``text`` with its middle replaced by :data:`ELLIPSIS`, ``keep``
    characters of it kept (the start gets the extra one)."""
    if keep >= len(text):
        return text
    head = (keep + 1) // 2
    return text[:head] + ELLIPSIS + text[len(text) - (keep - head):]


def _layout(size: Tuple[int, int], text: str) -> _Layout:
    import cv2
    font = cv2.FONT_HERSHEY_SIMPLEX
    height, width = size
    # Hershey fonts draw ASCII only; anything else would come out as '?'
    text = ''.join(c if 32 <= ord(c) < 127 else '?' for c in text.strip()) or '?'
    scale = max(MIN_SCALE, min(height, width) * SCALE_PER_PIXEL)
    thickness = max(1, round(scale * 2))
    pad = max(2, round(scale * 8))
    room = max(1, width - 2 * pad)
    (text_w, _), _ = cv2.getTextSize(text, font, scale, thickness)
    if text_w > room:  # shrink to fit, down to the smallest legible size
        scale = max(MIN_SCALE, scale * room / text_w)
        thickness = max(1, round(scale * 2))
    shown = text
    for keep in range(len(text), 0, -1):  # then shorten in the middle
        shown = _shorten(text, keep) if keep < len(text) else text
        if cv2.getTextSize(shown, font, scale, thickness)[0][0] <= room:
            break
    (text_w, text_h), baseline = cv2.getTextSize(shown, font, scale, thickness)
    bottom = min(height, text_h + baseline + 2 * pad)
    right = min(width, text_w + 2 * pad)
    return _Layout(shown, scale, thickness, (pad, pad + text_h), (0, 0, bottom, right))


def label_box(size: Tuple[int, int], text: str) -> Tuple[int, int, int, int]:
    """``(top, left, bottom, right)`` (bottom and right exclusive) of the
    pixels :func:`draw_label` covers on a picture of ``size`` =
    ``(height, width)``."""
    return _layout(size, text).box


def draw_label(image: np.ndarray, text: str) -> np.ndarray:
    """A copy of the ``[H, W, 3]`` uint8 ``image`` with ``text`` in white on
    a black box at its top-left corner (:func:`label_box`); only that box
    changes."""
    import cv2
    layout = _layout(image.shape[:2], text)
    canvas = np.ascontiguousarray(image).copy()
    top, left, bottom, right = layout.box
    canvas[top:bottom, left:right] = BOX_COLOR
    # drawn on the box alone, so that antialiasing never spills outside it
    box = np.ascontiguousarray(canvas[top:bottom, left:right])
    cv2.putText(box, layout.text, layout.origin, cv2.FONT_HERSHEY_SIMPLEX, layout.scale,
                TEXT_COLOR, layout.thickness, cv2.LINE_AA)
    canvas[top:bottom, left:right] = box
    return canvas
