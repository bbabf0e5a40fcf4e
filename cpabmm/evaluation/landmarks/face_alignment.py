"""face-alignment's 68-point 2-D landmarks (the detector of the papers)."""
from __future__ import annotations

import os.path as osp
from typing import Optional

import numpy as np

from ..errors import MetricUnavailableError
from ..registry import LANDMARK_DETECTORS
from .base import LandmarkDetector


@LANDMARK_DETECTORS.register_module()
class FaceAlignment68(LandmarkDetector):
    """The 2-D FAN of the ``face-alignment`` package, 68 landmarks of the
    first detected face, as pose-evaluation extracts them for VoxCeleb.

    The package fetches its weights (2DFAN4 and the face detector) into the
    torch hub cache on first use; offline, copy them into
    ``<torch hub dir>/checkpoints`` beforehand.

    Args:
        device: where the networks run.
        face_detector: face-alignment's face detector (``'sfd'`` as in
            pose-evaluation).
    """

    num_points = 68
    name = 'face_alignment_2d_68'

    def __init__(self, device: str = 'cpu', face_detector: str = 'sfd') -> None:
        try:
            import face_alignment
        except ImportError:
            raise MetricUnavailableError(
                'the face-alignment detector needs the face-alignment package: '
                'pip install face-alignment') from None
        types = face_alignment.LandmarksType
        two_d = getattr(types, 'TWO_D', None) or getattr(types, '_2D')
        try:
            self._model = face_alignment.FaceAlignment(
                two_d, device=device, flip_input=False,
                face_detector=face_detector)
        except OSError as error:  # URLError and file errors of the download
            import torch
            cache = osp.join(torch.hub.get_dir(), 'checkpoints')
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise MetricUnavailableError(
                f'face-alignment could not load its weights ({reason}); put '
                f'its 2DFAN4 and s3fd files in {cache}') from None

    def detect(self, image: np.ndarray) -> Optional[np.ndarray]:
        faces = self._model.get_landmarks(image)
        if not faces:
            return None
        return np.asarray(faces[0])[:, :2]
