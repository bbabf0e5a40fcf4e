"""Metrics broken down by how far the ground-truth keypoints move."""
from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from cpabmm.registry import METRICS
from .motion_error import MotionError
from .video_metric import VideoMetric

#: the metrics broken down unless a config names others
DEFAULT_BROKEN_DOWN = (dict(type='MotionError'), dict(type='L1'), dict(type='PSNR'),
                       dict(type='SSIM'))


def displacement_px(kp_source, kp_driving, height: int, width: int) -> float:
    """Mean distance in pixels between corresponding keypoints ``[P, 2]`` in
    [-1, 1] (``grid_sample(align_corners=True)``), NaN for no points."""
    if not len(kp_source):
        return math.nan
    scale = kp_source.new_tensor([(width - 1) / 2, (height - 1) / 2])
    return ((kp_driving - kp_source) * scale).norm(dim=-1).mean().item()


def quantile_bins(values: np.ndarray, bins: int) -> np.ndarray:
    """Index in ``[0, bins)`` of each value's quantile bin (equal counts up
    to ties; the edges are the ``k / bins`` quantiles)."""
    edges = np.quantile(values, np.arange(1, bins) / bins)
    return np.searchsorted(edges, values, side='right')


@METRICS.register_module()
class MotionMagnitudeBreakdown(BaseMetric):
    """Frame metrics per quantile bin of the ground-truth motion.

    Each frame's motion is the mean distance (pixels) that its visible
    ground-truth keypoints move between the source and the driving frame
    (the synthetic benchmark's ``kp_source``/``kp_driving``). Frames are cut
    into ``bins`` groups of equal size by that distance (terciles by
    default) and each wrapped metric's per-frame statistics are averaged per
    group: ``'{bin}/MotionError'`` etc., with ``'{bin}/motion_px_min'`` and
    ``'{bin}/motion_px_max'`` giving the group's range and ``'{bin}/frames'``
    its size. Bins are named ``small``, ``medium``, ``large`` for three, else
    ``bin1``... . Frames without a visible keypoint are left out. Means are
    over frames (not videos) within a bin.

    Args:
        metrics: :class:`VideoMetric` configs broken down (default motion
            error, L1, PSNR, SSIM).
        bins: number of quantile bins.
        motion: the :class:`MotionError` settings that read the keypoints
            (keys, visibility, ``gt_key``).
        collect_device, prefix: see MMEngine's ``BaseMetric``.
    """

    default_prefix: Optional[str] = ''  # keys as 'large/L1'

    def __init__(self, metrics: Sequence[dict] = DEFAULT_BROKEN_DOWN, bins: int = 3,
                 motion: Optional[dict] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if bins < 2:
            raise ValueError(f'MotionMagnitudeBreakdown: bins must be at least 2, got {bins}')
        self.bins = bins
        self.keypoints = MotionError(**(motion or {}))
        self.metrics: List[VideoMetric] = []
        for config in metrics:
            metric = METRICS.build(dict(config))
            if not isinstance(metric, VideoMetric):
                raise TypeError(f'MotionMagnitudeBreakdown: {config["type"]} is no per-frame '
                                'metric (VideoMetric); only those can be broken down')
            self.metrics.append(metric)

    @property
    def bin_names(self) -> List[str]:
        if self.bins == 3:
            return ['small', 'medium', 'large']
        return [f'bin{i + 1}' for i in range(self.bins)]

    def process(self, data_batch: Any, data_samples: Sequence[Mapping[str, Any]]) -> None:
        """Keep each frame's motion and statistics."""
        if not data_samples:
            return
        frame_stats = [{} for _ in data_samples]
        for metric in self.metrics:
            for stats, new in zip(frame_stats, metric.frame_statistics(data_samples)):
                stats.update(new)
        for sample, stats in zip(data_samples, frame_stats):
            motion = displacement_px(*self.keypoints.visible_keypoints(sample),
                                     *self.keypoints.frame_size(sample))
            if math.isfinite(motion):
                self.results.append((motion, stats))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        if len(results) < self.bins:
            raise ValueError(f'MotionMagnitudeBreakdown: {len(results)} frame(s) with visible '
                             f'keypoints cannot fill {self.bins} bins')
        motions = np.array([motion for motion, _ in results])
        groups = quantile_bins(motions, self.bins)
        out: Dict[str, float] = {}
        for index, name in enumerate(self.bin_names):
            members = [stats for (_, stats), group in zip(results, groups) if group == index]
            inside = motions[groups == index]
            out[f'{name}/frames'] = len(members)
            out[f'{name}/motion_px_min'] = float(inside.min()) if len(inside) else math.nan
            out[f'{name}/motion_px_max'] = float(inside.max()) if len(inside) else math.nan
            for statistic in dict.fromkeys(k for stats in members for k in stats):
                values = [stats[statistic] for stats in members if statistic in stats]
                out[f'{name}/{statistic}'] = float(np.mean(values))
        return out
