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

import math

import numpy as np
import torch
from torch import Tensor

from .motion.base import Keypoints


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
    compare)."""
    scales = []
    for source, initial in zip(kp_source.detach().cpu().double().numpy(),
                               kp_driving_initial.detach().cpu().double().numpy()):
        source_area, initial_area = hull_area(source), hull_area(initial)
        degenerate = source_area <= 0 or initial_area <= 0
        scales.append(1.0 if degenerate else math.sqrt(source_area / initial_area))
    return kp_source.new_tensor(scales)


def relative_keypoints(kp_source: Keypoints, kp_driving: Keypoints,
                       kp_driving_initial: Keypoints,
                       adapt_scale: bool = True) -> Keypoints:
    """The source keypoints moved by the driving keypoints' motion since the
    initial driving frame.

    Args:
        kp_source, kp_driving, kp_driving_initial: keypoint dicts (``value``
            ``[B, K, 2]``, optional ``jacobian`` ``[B, K, 2, 2]``).
        adapt_scale: scale the displacement by the square root of the ratio
            of the keypoints' convex hull areas (source over initial driving).

    Returns:
        A keypoint dict like ``kp_driving`` with the relative ``value`` (and
        ``jacobian`` when the keypoints have one).
    """
    displacement = kp_driving['value'] - kp_driving_initial['value']
    if adapt_scale:
        scale = movement_scale(kp_source['value'], kp_driving_initial['value'])
        displacement = displacement * scale.view(-1, 1, 1)
    result = dict(kp_driving)
    result['value'] = kp_source['value'] + displacement
    if 'jacobian' in kp_driving:
        change = torch.matmul(kp_driving['jacobian'],
                              torch.inverse(kp_driving_initial['jacobian']))
        result['jacobian'] = torch.matmul(change, kp_source['jacobian'])
    return result
