"""AKD and MKR: landmarks of generated frames against those of real frames."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence, Tuple, Union

import numpy as np
import torch

from cpabmm.registry import METRICS
from cpabmm.visualization import to_uint8
from .landmarks import LandmarkDetector, build_landmark_detector
from .samples import as_size, get_image_pair, resize_images
from .video_metric import VideoMetric, VideoTotals


def keypoint_frame_statistics(real: np.ndarray,
                              generated: np.ndarray) -> Dict[str, float]:
    """AKD and MKR contributions of one frame, as pose-evaluation counts them.

    Args:
        real, generated: ``[P, 2]`` landmarks with NaN rows for points not
            detected.

    Returns:
        ``'MKR'``: the share of the points detected in the real frame that are
        missing in the generated one (absent when the real frame has no
        detection); ``'AKD'``: the mean absolute coordinate difference over
        the points detected in both (absent when there are none, e.g. the
        generated frame has no detection).
    """
    found_real = ~np.isnan(real).any(axis=1)
    found_generated = ~np.isnan(generated).any(axis=1)
    stats: Dict[str, float] = {}
    if found_real.any():
        stats['MKR'] = float(np.mean(~found_generated[found_real]))
    both = found_real & found_generated
    if both.any():
        stats['AKD'] = float(np.mean(np.abs(real[both] - generated[both])))
    return stats


@METRICS.register_module()
class AKD(VideoMetric):
    """Average keypoint distance (pixels) and missing keypoint rate.

    Both frames are resized to ``detection_size`` (256 as in pose-evaluation)
    before the landmark detector runs on them. Per frame, AKD is the mean
    absolute difference per coordinate over the points found in both frames
    (a shift of s pixels along x gives s/2); frames where the generated frame
    has no detection are skipped. MKR is the share of the points found in the
    real frame that are missing in the generated one. Both are averaged over
    all counted frames of all videos.

    The results hold ``AKD``, ``MKR``, ``AKD_skipped_frames`` and
    ``AKD_detector`` (the detector's name: AKD compares only between runs
    with the same detector).

    Args:
        detector: a ``LANDMARK_DETECTORS`` config or a detector instance;
            None for the MediaPipe face mesh.
        detection_size: ``(height, width)`` or side length the frames are
            resized to before detection; None keeps their size.
        **kwargs: ``pred_key``, ``gt_key`` and the ``BaseMetric`` arguments.
    """

    statistics = ('AKD', 'MKR')

    def __init__(self,
                 detector: Union[dict, LandmarkDetector, None] = None,
                 detection_size: Union[int, Tuple[int, int], None] = 256,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.detector = build_landmark_detector(
            detector or dict(type='MediaPipeFaceMesh'))
        self.detection_size = as_size(detection_size)

    def landmarks(self, image: torch.Tensor) -> np.ndarray:
        """The detector's landmarks on ``[3, H, W]`` resized for detection."""
        resized = resize_images(image[None], self.detection_size)[0]
        return self.detector(to_uint8(resized))

    def frame_statistics(
            self, data_samples: Sequence[Mapping[str, Any]]
    ) -> List[Dict[str, float]]:
        stats = []
        for sample in data_samples:
            pred, gt = get_image_pair(sample, self.pred_key, self.gt_key,
                                      self.metric_name)
            stats.append(
                keypoint_frame_statistics(self.landmarks(gt), self.landmarks(pred)))
        return stats

    def summarize(self, totals: VideoTotals) -> Dict[str, Any]:
        results = super().summarize(totals)
        results['AKD_skipped_frames'] = (
            totals['frames'] - totals['counts'].get('AKD', 0))
        return results

    def result_info(self) -> Dict[str, Any]:
        return {'AKD_detector': self.detector.name}
