"""Motion error on the synthetic benchmark, where true correspondences exist."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence

import torch
import torch.nn.functional as F

from cpabmm.registry import METRICS
from .samples import CONTRACT, get_image, require
from .video_metric import VideoMetric


def sample_flow(flow: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Bilinearly sample a flow ``[h, w, 2]`` at points ``[P, 2]``.

    Both are in [-1, 1], x first, on the ``grid_sample(align_corners=True)``
    grid; points outside take the border value. Returns ``[P, 2]``.
    """
    field = flow.permute(2, 0, 1)[None].double()
    grid = points.to(flow.device).double().view(1, 1, -1, 2)
    sampled = F.grid_sample(
        field, grid, mode='bilinear', padding_mode='border', align_corners=True)
    return sampled[0, :, 0].t()


def motion_errors(flow: torch.Tensor, kp_source: torch.Tensor,
                  kp_driving: torch.Tensor, height: int,
                  width: int) -> torch.Tensor:
    """Per-point end-point errors ``[P]`` in pixels of an ``height`` x
    ``width`` frame: the backward flow at the driving keypoints against the
    source keypoints."""
    predicted = sample_flow(flow, kp_driving)
    # [-1, 1] spans (size - 1) pixels under align_corners=True.
    scale = predicted.new_tensor([(width - 1) / 2, (height - 1) / 2])
    return ((predicted - kp_source.to(predicted)) * scale).norm(dim=1)


@METRICS.register_module()
class MotionError(VideoMetric):
    """Mean end-point error (pixels) of the predicted motion at ground-truth
    correspondences.

    The synthetic benchmark knows where every driving-frame keypoint comes
    from in the source frame. The model's backward flow (``flow``,
    ``[h, w, 2]`` in [-1, 1], ``grid_sample(align_corners=True)``
    convention) is sampled at the driving keypoints (``kp_driving``,
    ``[P, 2]``) and compared with the source keypoints (``kp_source``); the
    Euclidean distance is measured in pixels of the ground-truth frame,
    averaged over points, then over all frames of all videos. It needs no
    detector and measures exactly what the motion models differ in.

    Args:
        flow_key, kp_source_key, kp_driving_key: the fields holding them.
        **kwargs: ``gt_key`` (the frame whose size converts to pixels) and
            the ``BaseMetric`` arguments.
    """

    statistics = ('MotionError', )

    def __init__(self,
                 flow_key: str = 'flow',
                 kp_source_key: str = 'kp_source',
                 kp_driving_key: str = 'kp_driving',
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.flow_key = flow_key
        self.kp_source_key = kp_source_key
        self.kp_driving_key = kp_driving_key

    def _fields(self, sample: Mapping[str, Any]):
        flow = require(sample, self.flow_key, self.metric_name)
        kp_source = require(sample, self.kp_source_key, self.metric_name)
        kp_driving = require(sample, self.kp_driving_key, self.metric_name)
        if not (isinstance(flow, torch.Tensor) and flow.dim() == 3
                and flow.shape[-1] == 2):
            raise ValueError(
                f"{self.metric_name}: '{self.flow_key}' must be a tensor "
                f'[h, w, 2]; {CONTRACT}')
        for key, points in ((self.kp_source_key, kp_source),
                            (self.kp_driving_key, kp_driving)):
            if not (isinstance(points, torch.Tensor) and points.dim() == 2
                    and points.shape[-1] == 2):
                raise ValueError(
                    f"{self.metric_name}: '{key}' must be a tensor [P, 2] of "
                    f'ground-truth keypoints; {CONTRACT}')
        if kp_source.shape != kp_driving.shape:
            raise ValueError(
                f"{self.metric_name}: '{self.kp_source_key}' "
                f"{list(kp_source.shape)} and '{self.kp_driving_key}' "
                f'{list(kp_driving.shape)} differ in shape')
        return flow, kp_source, kp_driving

    def frame_statistics(
            self, data_samples: Sequence[Mapping[str, Any]]
    ) -> List[Dict[str, float]]:
        stats = []
        for sample in data_samples:
            flow, kp_source, kp_driving = self._fields(sample)
            height, width = get_image(sample, self.gt_key, self.metric_name).shape[-2:]
            errors = motion_errors(flow.detach(), kp_source, kp_driving, height, width)
            stats.append({'MotionError': errors.mean().item()})
        return stats
