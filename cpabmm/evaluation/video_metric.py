"""Base class of the metrics: per-frame statistics summed per video.

Papers in this field report means over all frames of all videos
(pose-evaluation's protocol). Keeping one running sum and count per
statistic and video gives those means, the per-video table, and a memory
footprint that does not depend on how many frames a video has.
"""
from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from mmengine.dist import get_world_size
from mmengine.evaluator import BaseMetric

from .samples import get_video_id

VideoTotals = Dict[str, Any]
"""``{'frames': int, 'sums': {name: float}, 'counts': {name: int}}``."""


def _new_totals() -> VideoTotals:
    return {'frames': 0, 'sums': {}, 'counts': {}}


def _add_totals(into: VideoTotals, other: VideoTotals) -> None:
    into['frames'] += other['frames']
    for name, value in other['sums'].items():
        into['sums'][name] = into['sums'].get(name, 0.0) + value
        into['counts'][name] = into['counts'].get(name, 0) + other['counts'][name]


def merge_video_totals(parts: Sequence[Mapping[str, VideoTotals]]
                       ) -> Dict[str, VideoTotals]:
    """Add up the per-video totals of several processes (a video's frames may
    be split between ranks)."""
    merged: Dict[str, VideoTotals] = {}
    for part in parts:
        for video_id, totals in part.items():
            _add_totals(merged.setdefault(video_id, _new_totals()), totals)
    return merged


class VideoMetric(BaseMetric):
    """A metric whose value is a mean of per-frame statistics.

    Subclasses implement :meth:`frame_statistics`, which returns for every
    data sample a dict ``{statistic name: value}``; a statistic left out for a
    frame does not count for that frame (AKD skips frames without a
    detection). The result of each statistic is its sum over all frames of
    all videos divided by the number of frames that counted, and
    :attr:`per_video` holds the same means per video after
    :meth:`evaluate`, with the number of frames under ``'frames'``.

    Args:
        pred_key: field of the generated frame.
        gt_key: field of the reference frame (``'driving'`` in the
            reconstruction protocol).
        collect_device, prefix, collect_dir: see MMEngine's ``BaseMetric``.

    Per process, only one small record per video is kept. In a distributed
    run the records of all ranks are merged by ``video_id``; the test
    dataloader must then use ``DefaultSampler(round_up=False)`` so that no
    frame is evaluated twice.
    """

    default_prefix: Optional[str] = ''  # plain keys: 'L1', not 'x/L1'
    statistics: Tuple[str, ...] = ()
    """The names of the statistics, in the order results list them."""

    def __init__(self,
                 pred_key: str = 'prediction',
                 gt_key: str = 'driving',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(
            collect_device=collect_device, prefix=prefix,
            collect_dir=collect_dir)
        self.pred_key = pred_key
        self.gt_key = gt_key
        self._videos: Dict[str, VideoTotals] = {}
        self.per_video: Dict[str, Dict[str, float]] = {}

    @property
    def metric_name(self) -> str:
        """The name used in error messages."""
        return type(self).__name__

    @abstractmethod
    def frame_statistics(
            self, data_samples: Sequence[Mapping[str, Any]]
    ) -> List[Dict[str, float]]:
        """One ``{statistic: value}`` dict per data sample."""

    def process(self, data_batch: Any,
                data_samples: Sequence[Mapping[str, Any]]) -> None:
        """Add the statistics of a batch of frames to their videos' totals."""
        if not data_samples:
            return
        video_ids = [get_video_id(s, self.metric_name) for s in data_samples]
        for video_id, stats in zip(video_ids,
                                   self.frame_statistics(data_samples)):
            totals = self._videos.setdefault(video_id, _new_totals())
            totals['frames'] += 1
            for name, value in stats.items():
                totals['sums'][name] = totals['sums'].get(name, 0.0) + float(value)
                totals['counts'][name] = totals['counts'].get(name, 0) + 1

    def evaluate(self, size: int) -> dict:
        """Gather every rank's per-video totals and compute the metrics.

        ``size`` (the number of frames) is not needed: each rank sends one
        record holding all its videos.
        """
        self.results = [self._videos]
        self._videos = {}
        return super().evaluate(get_world_size())

    def compute_metrics(self, results: list) -> Dict[str, Any]:
        """Means over all frames of all videos; fills :attr:`per_video`."""
        videos = merge_video_totals(results)
        if not any(totals['frames'] for totals in videos.values()):
            raise ValueError(
                f'{self.metric_name}: no frame was evaluated; the test split '
                'has no videos (check the dataset path and filters)')
        self.per_video = {
            video_id: {'frames': totals['frames'], **self.summarize(totals)}
            for video_id, totals in sorted(videos.items())
        }
        overall = _new_totals()
        for totals in videos.values():
            _add_totals(overall, totals)
        return {**self.summarize(overall), **self.result_info()}

    def result_info(self) -> Dict[str, Any]:
        """Non-numeric facts added to the overall results (none here)."""
        return {}

    def summarize(self, totals: VideoTotals) -> Dict[str, Any]:
        """Turn totals into results: ``sum / count`` per statistic, NaN for a
        statistic that no frame counted for."""
        return {
            name: (totals['sums'][name] / totals['counts'][name]
                   if totals['counts'].get(name) else math.nan)
            for name in self.statistics
        }
