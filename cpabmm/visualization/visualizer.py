"""The registered visualizer of training batches."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.visualization import Visualizer

from cpabmm.registry import VISUALIZERS
from .images import to_uint8
from .keypoints import draw_keypoints
from .side_by_side import enlarge, side_by_side


@VISUALIZERS.register_module()
class AnimationVisualizer(Visualizer):
    """MMEngine's visualizer with the pictures of image animation.

    Args:
        name: the instance's name (MMEngine keeps one per name).
        min_size: frames with a shorter side are enlarged, pixel by pixel,
            to at least this size.
        **kwargs: :class:`mmengine.visualization.Visualizer` arguments
            (``vis_backends``, ``save_dir``, ...).
    """

    def __init__(self, name: str = 'visualizer', min_size: int = 128, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.min_size = min_size

    def animation_grid(self, visuals: Mapping[str, Any]) -> np.ndarray:
        """One row ``source | driving | prediction | keypoints | occlusion``
        per sample, as an RGB uint8 image.

        ``visuals`` holds ``source``, ``driving``, ``prediction``
        ``[B, 3, H, W]`` in [0, 1], ``kp_source``/``kp_driving`` keypoint
        dicts and ``occlusion`` (a list of masks ``[B, 1, h, w]``, finest
        last; optional). Source and driving frames show their keypoints as
        dots; the keypoints panel shows the driving frame, dimmed, with the
        driving keypoints as dots and the source keypoints as rings.
        """
        size = tuple(visuals['source'].shape[-2:])
        source, driving, prediction = (self._frames(visuals[name], size)
                                       for name in ('source', 'driving', 'prediction'))
        occlusion = visuals.get('occlusion') or []
        masks = self._frames(occlusion[-1], size) if occlusion else np.zeros_like(source)
        rows = []
        for i in range(len(source)):
            kp_source = visuals['kp_source']['value'][i]
            kp_driving = visuals['kp_driving']['value'][i]
            keypoints = draw_keypoints((driving[i] * 0.5).astype(np.uint8), kp_driving)
            keypoints = draw_keypoints(keypoints, kp_source, filled=False)
            rows.append(side_by_side([draw_keypoints(source[i], kp_source),
                                      draw_keypoints(driving[i], kp_driving),
                                      prediction[i], keypoints, masks[i]]))
        return np.concatenate(rows, axis=0)

    def add_animation(self, name: str, visuals: Mapping[str, Any], step: int = 0) -> None:
        """Send :meth:`animation_grid` to every backend."""
        self.add_image(name, self.animation_grid(visuals), step=step)

    def _frames(self, images: torch.Tensor, size: tuple) -> np.ndarray:
        """``[B, C, h, w]`` resized (bilinear) to ``size``, as enlarged uint8."""
        if tuple(images.shape[-2:]) != size:
            images = F.interpolate(images.float(), size=size, mode='bilinear',
                                   align_corners=False)
        return np.stack([enlarge(frame, self.min_size) for frame in to_uint8(images)])
