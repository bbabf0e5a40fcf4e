"""Landmark detectors for AKD/MKR: MediaPipe face mesh, face-alignment, and
any detector registered in ``LANDMARK_DETECTORS``."""
from .base import LandmarkDetector, build_landmark_detector
from .face_alignment import FaceAlignment68
from .mediapipe_face_mesh import MediaPipeFaceMesh

__all__ = [
    'FaceAlignment68', 'LandmarkDetector', 'MediaPipeFaceMesh',
    'build_landmark_detector'
]
