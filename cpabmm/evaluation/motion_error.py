"""Motion error on the synthetic benchmark, where true correspondences exist."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from cpabmm.registry import METRICS
from .samples import CONTRACT, find, get_image, require
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
    Euclidean distance is measured in pixels of the ground-truth frame and
    averaged over the points visible in both frames (``kp_*_visible``, all
    points when absent), then over all frames of all videos; a frame with no
    such point does not count. It needs no detector and measures exactly
    what the motion models differ in.

    The keypoints and their visibility are dataset fields: they are read from
    the sample's ``metainfo`` first, so the model's predicted ``kp_source``
    at the top level does not shadow them.

    Args:
        flow_key: the model's backward flow.
        kp_source_key, kp_driving_key: the ground-truth keypoints.
        visible_keys: the two ``[P]`` bool visibility fields (source,
            driving); None ignores visibility.
        **kwargs: ``gt_key`` (the frame whose size converts to pixels) and
            the ``BaseMetric`` arguments.
    """

    statistics = ('MotionError', )

    def __init__(self,
                 flow_key: str = 'flow',
                 kp_source_key: str = 'kp_source',
                 kp_driving_key: str = 'kp_driving',
                 visible_keys: Optional[Tuple[str, str]] = (
                     'kp_source_visible', 'kp_driving_visible'),
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.flow_key = flow_key
        self.keypoint_keys = (kp_source_key, kp_driving_key)
        self.visible_keys = tuple(visible_keys) if visible_keys else ()

    def _flow(self, sample: Mapping[str, Any]) -> torch.Tensor:
        flow = require(sample, self.flow_key, self.metric_name)
        if not (isinstance(flow, torch.Tensor) and flow.dim() == 3
                and flow.shape[-1] == 2):
            raise ValueError(
                f"{self.metric_name}: '{self.flow_key}' must be a tensor "
                f'[h, w, 2] (ask the model for its flow); {CONTRACT}')
        return flow.detach()

    def _keypoints(self, sample: Mapping[str, Any]) -> List[torch.Tensor]:
        points = []
        for key in self.keypoint_keys:
            value = require(sample, key, self.metric_name, from_dataset=True)
            if not (isinstance(value, torch.Tensor) and value.dim() == 2
                    and value.shape[-1] == 2):
                raise ValueError(
                    f"{self.metric_name}: '{key}' must be a tensor [P, 2] of "
                    f'ground-truth keypoints, got {type(value).__name__} (a '
                    "model's predicted keypoints must not replace the "
                    f"dataset's: keep those in 'metainfo'); {CONTRACT}")
            points.append(value)
        if points[0].shape != points[1].shape:
            raise ValueError(
                f"{self.metric_name}: '{self.keypoint_keys[0]}' "
                f"{list(points[0].shape)} and '{self.keypoint_keys[1]}' "
                f'{list(points[1].shape)} differ in shape')
        return points

    def _visible(self, sample: Mapping[str, Any], count: int) -> torch.Tensor:
        visible = torch.ones(count, dtype=torch.bool)
        for key in self.visible_keys:
            value = find(sample, key, from_dataset=True)
            if value is not None:
                value = torch.as_tensor(value).cpu()
                if value.shape != (count, ):
                    raise ValueError(
                        f"{self.metric_name}: '{key}' must be a bool tensor "
                        f'[{count}], got shape {list(value.shape)}')
                visible &= value.bool()
        return visible

    def visible_keypoints(self, sample: Mapping[str, Any]
                          ) -> Tuple[torch.Tensor, torch.Tensor]:
        """The ground-truth source and driving keypoints ``[V, 2]`` visible
        in both frames (``V`` may be 0)."""
        kp_source, kp_driving = self._keypoints(sample)
        visible = self._visible(sample, kp_source.shape[0]).to(kp_source.device)
        return kp_source[visible], kp_driving[visible]

    def frame_size(self, sample: Mapping[str, Any]) -> Tuple[int, int]:
        """``(height, width)`` of the ground-truth frame."""
        return tuple(get_image(sample, self.gt_key, self.metric_name).shape[-2:])

    def frame_statistics(
            self, data_samples: Sequence[Mapping[str, Any]]
    ) -> List[Dict[str, float]]:
        stats = []
        for sample in data_samples:
            flow = self._flow(sample)
            kp_source, kp_driving = self.visible_keypoints(sample)
            if not len(kp_source):
                stats.append({})
                continue
            errors = motion_errors(flow, kp_source, kp_driving, *self.frame_size(sample))
            stats.append({'MotionError': errors.mean().item()})
        return stats
