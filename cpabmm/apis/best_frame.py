"""The driving frame whose face is posed most like the source's.

Relative animation transfers each driving frame's motion *from an initial
frame*; starting from the frame whose face landmarks best match the source
face (after removing position and scale) avoids transferring a pose offset.
Faces are found with an offline landmark detector (MediaPipe's face mesh by
default, from the ``LANDMARK_DETECTORS`` registry).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional, Union

import numpy as np

if TYPE_CHECKING:
    from cpabmm.evaluation.landmarks import LandmarkDetector

DEFAULT_DETECTOR = dict(type='MediaPipeFaceMesh')


class LandmarkDetectorUnavailable(RuntimeError):
    """No face landmark detector can run here (one line: what to install)."""


def build_face_landmarks(detector: Union[dict, 'LandmarkDetector', None] = None
                         ) -> 'LandmarkDetector':
    """The landmark detector for :func:`find_best_frame` (default MediaPipe).

    Raises:
        LandmarkDetectorUnavailable: its package is not installed.
    """
    from cpabmm.evaluation.errors import MetricUnavailableError
    from cpabmm.evaluation.landmarks import build_landmark_detector
    try:
        return build_landmark_detector(detector or DEFAULT_DETECTOR)
    except MetricUnavailableError as err:
        raise LandmarkDetectorUnavailable(f'finding the best frame needs a face landmark '
                                          f'detector; {err}') from None


def normalize_landmarks(points: np.ndarray) -> Optional[np.ndarray]:
    """Landmarks ``[P, 2]`` centred and divided by the square root of their
    convex hull's area (so that position and size do not count); None when
    they span no area."""
    from scipy.spatial import ConvexHull, QhullError
    try:
        area = ConvexHull(points).volume  # in 2-D, the "volume" is the area
    except QhullError:
        return None
    if area <= 0:
        return None
    return (points - points.mean(axis=0)) / math.sqrt(area)


def find_best_frame(source: np.ndarray, frames: Iterable[np.ndarray],
                    detector: 'LandmarkDetector',
                    progress: Optional[Callable[[int], Any]] = None) -> Optional[int]:
    """Index of the frame whose normalised face landmarks are closest (sum of
    squared differences) to the source's.

    Args:
        source: ``[H, W, 3]`` uint8 RGB source image.
        frames: ``[H, W, 3]`` uint8 RGB driving frames, streamed once.
        detector: from :func:`build_face_landmarks`.
        progress: called with 1 after each frame.

    Returns:
        The index, or None when no frame shows a face.

    Raises:
        ValueError: no face in the source image.
    """
    found = detector.detect(source)
    reference = None if found is None else normalize_landmarks(np.asarray(found, float))
    if reference is None:
        raise ValueError('no face found in the source image; find_best_frame needs one '
                         '(animate without it, or use a clearer portrait)')
    best, best_distance = None, math.inf
    for index, frame in enumerate(frames):
        found = detector.detect(frame)
        points = None if found is None else normalize_landmarks(np.asarray(found, float))
        if points is not None:
            distance = float(((points - reference) ** 2).sum())
            if distance < best_distance:
                best, best_distance = index, distance
        if progress is not None:
            progress(1)
    return best
