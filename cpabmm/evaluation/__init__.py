"""Evaluation metrics (MMEngine ``BaseMetric`` subclasses in ``METRICS``).

Importing this package registers every metric, landmark detector and
identity embedder, so configs can name them by ``type``.
"""
from .builder import DEFAULT_METRICS, build_metrics, default_metric_configs
from .embedders import (IdentityEmbedder, TorchEmbedder,
                        build_identity_embedder)
from .errors import MetricUnavailableError
from .identity_metrics import AED, aed_distances
from .keypoint_metrics import AKD, keypoint_frame_statistics
from .landmarks import (FaceAlignment68, LandmarkDetector, MediaPipeFaceMesh,
                        build_landmark_detector)
from .lpips_metric import LPIPS
from .magnitude_breakdown import MotionMagnitudeBreakdown, displacement_px, quantile_bins
from .motion_error import MotionError, motion_errors, sample_flow
from .outputs import (atomic_write, collect_per_video, write_metrics_json,
                      write_per_video_csv)
from .pixel_metrics import L1, PSNR, SSIM, ssim
from .png_strips import PNGStripWriter, write_png_rows
from .ranking import HIGHER_IS_BETTER, Ranking, rank_videos
from .registry import IDENTITY_EMBEDDERS, LANDMARK_DETECTORS
from .video_metric import VideoMetric

__all__ = [
    'AED', 'AKD', 'DEFAULT_METRICS', 'FaceAlignment68', 'HIGHER_IS_BETTER',
    'IDENTITY_EMBEDDERS', 'IdentityEmbedder', 'L1', 'LANDMARK_DETECTORS',
    'LPIPS', 'LandmarkDetector', 'MediaPipeFaceMesh', 'MetricUnavailableError',
    'MotionError', 'MotionMagnitudeBreakdown', 'PNGStripWriter', 'PSNR', 'Ranking', 'SSIM',
    'TorchEmbedder', 'VideoMetric', 'aed_distances', 'atomic_write',
    'build_identity_embedder', 'build_landmark_detector', 'build_metrics',
    'collect_per_video', 'default_metric_configs', 'displacement_px',
    'keypoint_frame_statistics',
    'motion_errors', 'quantile_bins', 'rank_videos', 'sample_flow', 'ssim',
    'write_metrics_json', 'write_per_video_csv', 'write_png_rows'
]
