"""Relative motion: moving the source keypoints as the driving keypoints move.

Cross-identity animation (the "relative" mode of the FOMM and TPSMM demos)
does not put the source's keypoints where the driving face's are, since the
faces differ in shape; it displaces them by the driving keypoints' motion
since the initial driving frame, scaled to the source's size::

    kp_new = kp_source + (kp_driving - kp_driving_initial) * scale
    scale  = sqrt(hull area(kp_source) / hull area(kp_driving_initial))

FOMM's local affine keypoints also carry Jacobians, which are composed in the
same relative way: ``J_new = J_driving @ inv(J_driving_initial) @ J_source``.
"""
from __future__ import annotations

import logging
from typing import Optional

import numpy as np
import torch
from mmengine.logging import print_log
from torch import Tensor

from ..motion.base import Keypoints


def hull_area(points: np.ndarray) -> float:
    """Area of the convex hull of ``[P, 2]`` points (0 when they are fewer
    than three or all on one line)."""
    from scipy.spatial import ConvexHull, QhullError
    try:
        # In 2-D, scipy calls the hull's area its "volume".
        return float(ConvexHull(points).volume)
    except (QhullError, ValueError):
        return 0.0


def movement_scale(kp_source: Tensor, kp_driving_initial: Tensor) -> Tensor:
    """Per-sample ``sqrt(hull area(source) / hull area(initial driving))``,
    ``[B]``; 1 for a sample where either hull is degenerate (no size to
    compare; logged). A batch of one broadcasts against a larger batch."""
    source_areas = [hull_area(points) for points in kp_source.detach().cpu().double().numpy()]
    initial_areas = [hull_area(points)
                     for points in kp_driving_initial.detach().cpu().double().numpy()]
    try:
        source_areas, initial_areas = np.broadcast_arrays(source_areas, initial_areas)
    except ValueError:
        raise ValueError(f'keypoint batches of {len(source_areas)} (source) and '
                         f'{len(initial_areas)} (initial driving) do not broadcast; give '
                         'equal batches or a batch of one') from None
    degenerate = (source_areas <= 0) | (initial_areas <= 0)
    if degenerate.any():
        print_log('keypoints span no area: relative motion is not rescaled for '
                  f'{int(degenerate.sum())} of {len(degenerate)} samples',
                  logger='current', level=logging.WARNING)
    ratio = np.where(degenerate, 1.0, source_areas / np.where(degenerate, 1.0, initial_areas))
    return kp_source.new_tensor(np.sqrt(ratio))


def relative_keypoints(kp_source: Keypoints, kp_driving: Keypoints,
                       kp_driving_initial: Keypoints, adapt_scale: bool = True,
                       scale: Optional[Tensor] = None) -> Keypoints:
    """The source keypoints moved by the driving keypoints' motion since the
    initial driving frame.

    Args:
        kp_source, kp_driving, kp_driving_initial: keypoint dicts (``value``
            ``[B, K, 2]``, optional ``jacobian`` ``[B, K, 2, 2]``);
            ``kp_source`` and ``kp_driving_initial`` may have a batch of one
            against a larger ``kp_driving`` batch (they broadcast).
        adapt_scale: scale the displacement by the square root of the ratio
            of the keypoints' convex hull areas (source over initial driving).
        scale: that scale, ``[B]`` or ``[1]``, when already known (e.g. from
            :func:`movement_scale` once per video); used instead of the hulls
            when ``adapt_scale``.

    Returns:
        A keypoint dict like ``kp_driving`` with the relative ``value`` (and
        ``jacobian`` when the keypoints have one).
    """
    displacement = kp_driving['value'] - kp_driving_initial['value']
    if adapt_scale:
        if scale is None:
            scale = movement_scale(kp_source['value'], kp_driving_initial['value'])
        displacement = displacement * scale.to(displacement).view(-1, 1, 1)
    result = dict(kp_driving)
    result['value'] = kp_source['value'] + displacement
    if 'jacobian' in kp_driving:
        change = torch.matmul(kp_driving['jacobian'],
                              torch.inverse(kp_driving_initial['jacobian']))
        result['jacobian'] = torch.matmul(change, kp_source['jacobian'])
    return result
