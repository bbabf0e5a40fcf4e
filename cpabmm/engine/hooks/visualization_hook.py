"""Images of the training batch: source | driving | prediction | keypoints | occlusion."""
from __future__ import annotations

import colorsys
from typing import Dict, List

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.hooks import Hook
from torch import Tensor

from cpabmm.registry import HOOKS
from .epoch_hook import unwrap

COLUMNS = ('source', 'driving', 'prediction', 'keypoints', 'occlusion')


def to_uint8(images: Tensor) -> np.ndarray:
    """``[B, C, H, W]`` in [0, 1] (C = 1 or 3) -> ``[B, H, W, 3]`` uint8."""
    images = images.detach().float().clamp(0, 1)
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    return (images.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy()


def keypoint_colours(count: int) -> List[tuple]:
    """``count`` distinct RGB colours (0-255), one per keypoint index."""
    return [tuple(int(255 * c) for c in colorsys.hsv_to_rgb(i / max(count, 1), 0.9, 1.0))
            for i in range(count)]


def draw_keypoints(image: np.ndarray, keypoints: Tensor, filled: bool) -> np.ndarray:
    """Draw ``[K, 2]`` keypoints in [-1, 1] (``align_corners=True``) on an
    ``[H, W, 3]`` uint8 image: filled dots or rings, coloured by index."""
    image = np.ascontiguousarray(image)
    height, width = image.shape[:2]
    radius = max(1, min(height, width) // 64)
    for (x, y), colour in zip(keypoints.tolist(), keypoint_colours(len(keypoints))):
        centre = (int(round((x + 1) / 2 * (width - 1))), int(round((y + 1) / 2 * (height - 1))))
        cv2.circle(image, centre, radius + (0 if filled else 1), colour,
                   -1 if filled else 1, lineType=cv2.LINE_AA)
    return image


def animation_grid(visuals: Dict[str, object], min_size: int = 128) -> np.ndarray:
    """One row per sample, the columns of ``COLUMNS``, as an RGB uint8 image.

    ``visuals`` holds ``source``, ``driving``, ``prediction`` ``[B, 3, H, W]``,
    ``kp_source``/``kp_driving`` keypoint dicts and ``occlusion`` (a list of
    masks, finest last). Small frames are enlarged (nearest) to ``min_size``.
    The keypoints column shows the driving frame, dimmed, with the driving
    keypoints as dots and the source keypoints as rings.
    """
    height, width = visuals['source'].shape[-2:]
    scale = max(1, -(-min_size // min(height, width)))

    def enlarge(images: Tensor) -> Tensor:
        images = F.interpolate(images.float(), size=(height, width), mode='bilinear',
                               align_corners=False) if images.shape[-2:] != (height, width) \
            else images.float()
        return F.interpolate(images, scale_factor=scale, mode='nearest') if scale > 1 else images

    source, driving, prediction = (to_uint8(enlarge(visuals[name]))
                                   for name in ('source', 'driving', 'prediction'))
    occlusion = visuals.get('occlusion') or []
    masks = to_uint8(enlarge(occlusion[-1])) if occlusion else np.zeros_like(source)
    rows = []
    for i in range(source.shape[0]):
        kp_source = visuals['kp_source']['value'][i]
        kp_driving = visuals['kp_driving']['value'][i]
        keypoints = draw_keypoints((driving[i] * 0.5).astype(np.uint8), kp_driving, True)
        keypoints = draw_keypoints(keypoints, kp_source, False)
        cells = [draw_keypoints(source[i], kp_source, True),
                 draw_keypoints(driving[i], kp_driving, True), prediction[i], keypoints, masks[i]]
        rows.append(np.concatenate(cells, axis=1))
    return np.concatenate(rows, axis=0)


@HOOKS.register_module()
class AnimationVisualizationHook(Hook):
    """Every ``interval`` training iterations, show the batch's first
    ``max_samples`` samples as ``source | driving | prediction | keypoints |
    occlusion`` through the runner's visualizer.

    MMEngine's visualizer writes the image to every configured backend: the
    default ``LocalVisBackend`` saves ``<work_dir>/<timestamp>/vis_data/
    vis_image/train_animation_<iter>.png``; add ``TensorboardVisBackend``
    (``visualizer = dict(type='Visualizer', vis_backends=[dict(type=
    'LocalVisBackend'), dict(type='TensorboardVisBackend')])``, needs the
    ``tensorboard`` package) to see it in TensorBoard too.

    Args:
        interval: iterations between images.
        max_samples: rows per image.
        name: the image's name for the visualizer.
    """

    priority = 'LOW'

    def __init__(self, interval: int = 500, max_samples: int = 4,
                 name: str = 'train_animation'):
        if interval < 1 or max_samples < 1:
            raise ValueError(f'interval and max_samples must be positive, got {interval} and '
                             f'{max_samples}')
        self.interval = interval
        self.max_samples = max_samples
        self.name = name

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self.every_n_train_iters(runner, self.interval):
            unwrap(runner.model).capture_visuals = self.max_samples

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        model = unwrap(runner.model)
        visuals, model.visuals = model.visuals, None
        if visuals is not None and runner.rank == 0:
            runner.visualizer.add_image(self.name, animation_grid(visuals), step=runner.iter + 1)
