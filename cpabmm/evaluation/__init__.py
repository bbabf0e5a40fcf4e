"""Evaluation metrics (MMEngine ``BaseMetric`` subclasses in ``METRICS``).

Importing this package registers every metric, landmark detector and
identity embedder, so configs can name them by ``type``.
"""
from .embedders import (IdentityEmbedder, TorchEmbedder,
                        build_identity_embedder)
from .errors import MetricUnavailableError
from .identity_metrics import AED, aed_distances
from .keypoint_metrics import AKD, keypoint_frame_statistics
from .landmarks import (FaceAlignment68, LandmarkDetector, MediaPipeFaceMesh,
                        build_landmark_detector)
from .lpips_metric import LPIPS
from .motion_error import MotionError, motion_errors, sample_flow
from .pixel_metrics import L1, PSNR, SSIM, ssim
from .registry import IDENTITY_EMBEDDERS, LANDMARK_DETECTORS
from .video_metric import VideoMetric

__all__ = [
    'AED', 'AKD', 'FaceAlignment68', 'IDENTITY_EMBEDDERS', 'IdentityEmbedder',
    'L1', 'LANDMARK_DETECTORS', 'LPIPS', 'LandmarkDetector',
    'MediaPipeFaceMesh', 'MetricUnavailableError', 'MotionError', 'PSNR',
    'SSIM', 'TorchEmbedder', 'VideoMetric', 'aed_distances',
    'build_identity_embedder', 'build_landmark_detector',
    'keypoint_frame_statistics', 'motion_errors', 'sample_flow', 'ssim'
]
