"""Invertible 2-D maps that place the parts of a synthetic object in a frame.

A part lives in its own canonical coordinates ``(u, v)``: ``u`` along its axis,
``v`` across it. Its pose in a frame is a bend (the axis curled onto a circular
arc of curvature ``kappa``) followed by a similarity (rotation, uniform scale,
translation). Both maps have closed-form inverses, which gives exact dense
correspondences: a frame pixel maps back to canonical coordinates, and those map
forward into any other frame.

Points are ``[..., 2]`` float64 arrays, x first.
"""
from dataclasses import dataclass

import numpy as np

_STRAIGHT = 1e-6  # curvatures below this are treated as a straight axis


def bend(points: np.ndarray, kappa: float) -> np.ndarray:
    """Curl the u-axis onto an arc of curvature ``kappa`` (arc length is kept).

    ``(u, v) -> ((R - v) sin(kappa u), R - (R - v) cos(kappa u))`` with
    ``R = 1 / kappa``; lines ``u = const`` stay straight and meet at the centre
    ``(0, R)``.
    """
    if abs(kappa) < _STRAIGHT:
        return points.copy()
    radius = 1.0 / kappa
    u, v = points[..., 0], points[..., 1]
    angle = kappa * u
    rho = radius - v
    return np.stack([rho * np.sin(angle), radius - rho * np.cos(angle)], axis=-1)


def unbend(points: np.ndarray, kappa: float) -> np.ndarray:
    """Inverse of :func:`bend` (valid for ``|v| < 1/|kappa|`` and ``|kappa u| < pi``)."""
    if abs(kappa) < _STRAIGHT:
        return points.copy()
    radius = 1.0 / kappa
    sign = np.sign(radius)
    x, y = points[..., 0], points[..., 1]
    angle = np.arctan2(sign * x, sign * (radius - y))
    rho = sign * np.hypot(x, radius - y)
    return np.stack([angle * radius, radius - rho], axis=-1)


def rotation(angle: float) -> np.ndarray:
    """2x2 rotation matrix (counter-clockwise in x-right, y-up axes)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


@dataclass
class Similarity:
    """``p -> scale * R(angle) p + offset``."""

    angle: float = 0.0
    scale: float = 1.0
    offset: tuple = (0.0, 0.0)

    def apply(self, points: np.ndarray) -> np.ndarray:
        return self.scale * points @ rotation(self.angle).T + np.asarray(self.offset)

    def invert(self, points: np.ndarray) -> np.ndarray:
        return (points - np.asarray(self.offset)) @ rotation(self.angle) / self.scale


@dataclass
class PartPose:
    """Pose of one part in one frame: bend, then similarity."""

    kappa: float
    placement: Similarity

    def forward(self, canonical: np.ndarray) -> np.ndarray:
        """Canonical ``(u, v)`` -> frame coordinates."""
        return self.placement.apply(bend(canonical, self.kappa))

    def inverse(self, frame_points: np.ndarray) -> np.ndarray:
        """Frame coordinates -> canonical ``(u, v)``."""
        return unbend(self.placement.invert(frame_points), self.kappa)

    def axis_frame(self, u: float) -> Similarity:
        """Similarity placing a child at axis position ``u``, aligned with the axis tangent."""
        point = self.forward(np.array([u, 0.0]))
        return Similarity(angle=self.placement.angle + self.kappa * u,
                          scale=self.placement.scale, offset=tuple(point))
