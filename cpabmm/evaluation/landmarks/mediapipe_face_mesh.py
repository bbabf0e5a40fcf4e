"""MediaPipe's 468-point face mesh as an AKD landmark detector (offline)."""
from __future__ import annotations

import warnings
from typing import Optional

import numpy as np

from ..errors import MetricUnavailableError
from ..registry import LANDMARK_DETECTORS
from .base import LandmarkDetector

INSTALL_HINT = (
    "pip install --no-deps mediapipe==0.10.14 absl-py attrs flatbuffers "
    "'protobuf>=3.11,<5'")


@LANDMARK_DETECTORS.register_module()
class MediaPipeFaceMesh(LandmarkDetector):
    """MediaPipe face mesh (468 landmarks; the model ships in the package).

    Every image is processed on its own (``static_image_mode``): a tracking
    state shared between generated and real frames would couple the two
    detections that AKD compares. The most confident face is kept.

    Args:
        min_detection_confidence: face detector threshold.
        refine_landmarks: add the 10 iris points (478 in all).
    """

    def __init__(self,
                 min_detection_confidence: float = 0.5,
                 refine_landmarks: bool = False) -> None:
        try:
            import mediapipe
        except ImportError:
            raise MetricUnavailableError(
                f'the MediaPipe face mesh needs mediapipe: {INSTALL_HINT}'
            ) from None
        solutions = getattr(mediapipe, 'solutions', None)
        if solutions is None or not hasattr(solutions, 'face_mesh'):
            raise MetricUnavailableError(
                f'mediapipe {getattr(mediapipe, "__version__", "?")} has no '
                f'legacy face mesh (removed in 0.10.31): {INSTALL_HINT}')
        self.num_points = 478 if refine_landmarks else 468
        self.name = f'mediapipe_face_mesh_{self.num_points}'
        self._mesh = solutions.face_mesh.FaceMesh(
            static_image_mode=True,
            max_num_faces=1,
            refine_landmarks=refine_landmarks,
            min_detection_confidence=min_detection_confidence)

    def detect(self, image: np.ndarray) -> Optional[np.ndarray]:
        with warnings.catch_warnings():  # protobuf 4 deprecation notice
            warnings.filterwarnings('ignore', message='SymbolDatabase.GetPrototype')
            result = self._mesh.process(np.ascontiguousarray(image))
        if not result.multi_face_landmarks:
            return None
        height, width = image.shape[:2]
        landmarks = result.multi_face_landmarks[0].landmark
        # MediaPipe normalises x by the width and y by the height.
        return np.array([[p.x * width, p.y * height] for p in landmarks])

    def close(self) -> None:
        self._mesh.close()
