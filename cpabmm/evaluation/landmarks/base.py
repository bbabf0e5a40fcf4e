"""The interface of landmark detectors used by AKD and MKR."""
from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Optional, Union

import numpy as np

from ..registry import LANDMARK_DETECTORS, build_component


class LandmarkDetector(metaclass=ABCMeta):
    """Finds a fixed set of ``num_points`` landmarks in an RGB image.

    Subclasses implement :meth:`detect`; calling the detector checks what it
    returns. AKD values are comparable only between runs with the same
    detector, so every detector has a :attr:`name` that the results record.
    """

    #: Recorded next to AKD/MKR; subclasses give a descriptive name.
    name: str = ''
    #: How many landmarks one detection has.
    num_points: int = 0

    @abstractmethod
    def detect(self, image: np.ndarray) -> Optional[np.ndarray]:
        """Landmarks of one image.

        Args:
            image: ``[H, W, 3]`` uint8 RGB.

        Returns:
            ``[num_points, 2]`` pixel coordinates ``(x, y)``, with NaN rows
            for points not found; None when nothing is found in the image.
        """

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """``[num_points, 2]`` float64 coordinates, all NaN when nothing was
        found."""
        points = self.detect(image)
        if points is None:
            return np.full((self.num_points, 2), np.nan)
        points = np.asarray(points, dtype=np.float64)
        if points.shape != (self.num_points, 2):
            raise ValueError(
                f'landmark detector {self.name!r} returned shape '
                f'{points.shape}, expected ({self.num_points}, 2)')
        return points

    def close(self) -> None:
        """Release native resources (nothing by default)."""


def build_landmark_detector(
        detector: Union[dict, LandmarkDetector]) -> LandmarkDetector:
    """A detector from a config dict (``LANDMARK_DETECTORS``) or an instance."""
    return build_component(detector, LANDMARK_DETECTORS, LandmarkDetector,
                           "dict(type='MediaPipeFaceMesh')")
