"""Metrics that score each generated frame against a reference frame."""
from __future__ import annotations

from abc import abstractmethod
from typing import Any, Dict, List, Mapping, Sequence

import torch

from .samples import stack_image_pairs
from .video_metric import VideoMetric


class PairedImageMetric(VideoMetric):
    """A per-frame score of ``(prediction, reference)`` image pairs, computed
    on whole batches."""

    @abstractmethod
    def score(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        """Per-frame scores ``[B]`` of image batches ``[B, 3, H, W]``."""

    def frame_statistics(
            self, data_samples: Sequence[Mapping[str, Any]]
    ) -> List[Dict[str, float]]:
        pred, gt = stack_image_pairs(data_samples, self.pred_key, self.gt_key,
                                     self.metric_name)
        with torch.no_grad():
            scores = self.score(pred, gt)
        (name, ) = self.statistics
        return [{name: value} for value in scores.tolist()]
