"""Procedural videos of a textured articulated, bending object on a textured background.

The object is a chain of tapered capsules: a body with limbs attached at both
ends. Over a video every part bends (its axis curls onto an arc), every joint
rotates, and the whole object rotates, scales and moves, while the background
drifts by a small similarity. All of it is a smooth function of time, so frames
far apart differ by large non-rigid motion.

Coordinates are those of ``grid_sample(align_corners=True)``: x right and y
down in [-1, 1], pixel centres of the first and last column at -1 and 1. Since
every map is invertible in closed form, a scene knows for every pixel of one
frame where that point of the object (or background) is in another frame: the
ground-truth keypoints and dense correspondences follow the pixels exactly.
"""
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .geometry import PartPose, Similarity
from .texture import procedural_texture

KEYPOINTS_PER_PART = 5
_TEXTURE_OVERSAMPLING = 1.3  # object texture pixels per frame pixel at scale 1
_BACKGROUND_SAMPLING = 0.8  # background texture pixels per frame pixel
_CLEAN_MARGIN = 1.0  # pixels from an edge beyond which colour is unmixed
_KEYPOINT_CLEARANCE = 0.05  # canonical units between a keypoint and a covering part


@dataclass
class Capsule:
    """A tapered capsule around the axis segment ``u0 <= u <= u1`` (canonical units)."""

    u0: float
    u1: float
    w0: float  # half-width at u0
    w1: float  # half-width at u1
    clear0: float = 0.0  # length at each end covered by an attached part
    clear1: float = 0.0
    _outline: Optional[np.ndarray] = field(default=None, repr=False, compare=False)

    def half_width(self, u: np.ndarray) -> np.ndarray:
        return self.w0 + (self.w1 - self.w0) * (u - self.u0) / (self.u1 - self.u0)

    def distance(self, canonical: np.ndarray) -> np.ndarray:
        """Signed distance-like field: negative inside, about the distance outside."""
        u, v = canonical[..., 0], canonical[..., 1]
        on_axis = np.clip(u, self.u0, self.u1)
        return np.hypot(u - on_axis, v) - self.half_width(on_axis)

    def keypoints(self) -> np.ndarray:
        """Five canonical points: three along the axis, two across its middle.

        The end points keep clear of the parts attached at the ends.
        """
        length = self.u1 - self.u0
        middle = self.u0 + 0.5 * length
        axis = [self.u0 + max(0.15 * length, self.clear0), middle,
                self.u1 - max(0.15 * length, self.clear1)]
        side = 0.55 * self.half_width(np.array(middle))
        return np.array([[axis[0], 0], [axis[1], 0], [axis[2], 0],
                         [middle, -side], [middle, side]], dtype=np.float64)

    def outline(self) -> np.ndarray:
        """Points around the capsule (both sides and both caps), for bounding boxes.

        The sides are sampled densely enough that, once bent, the polygon
        stays within a thousandth of a unit of the true outline.
        """
        if self._outline is None:
            self._outline = self._make_outline(count=12)
        return self._outline

    def _make_outline(self, count: int) -> np.ndarray:
        u = np.linspace(self.u0, self.u1, count)
        width = self.half_width(u)
        angles = np.linspace(-np.pi / 2, np.pi / 2, count)
        return np.concatenate([
            np.stack([u, width], -1), np.stack([u, -width], -1),
            np.stack([self.u1 + self.w1 * np.cos(angles), self.w1 * np.sin(angles)], -1),
            np.stack([self.u0 - self.w0 * np.cos(angles), self.w0 * np.sin(angles)], -1)])

    def extent(self) -> Tuple[float, float, float, float]:
        """``(u_min, u_max, v_min, v_max)`` of the capsule."""
        width = max(self.w0, self.w1)
        return (self.u0 - self.w0, self.u1 + self.w1, -width, width)


@dataclass
class Wave:
    """``base + amplitude * sin(2 pi (frequency t + phase))`` for t in [0, 1]."""

    base: float
    amplitude: float
    frequency: float
    phase: float

    def __call__(self, t: float) -> float:
        return self.base + self.amplitude * np.sin(2 * np.pi * (self.frequency * t + self.phase))

    @classmethod
    def random(cls, rng: np.random.Generator, base: Tuple[float, float],
               amplitude: Tuple[float, float]) -> 'Wave':
        return cls(rng.uniform(*base), rng.uniform(*amplitude), rng.uniform(0.5, 1.5),
                   rng.uniform(0, 1))

    @classmethod
    def curvature(cls, rng: np.random.Generator, limit: float) -> 'Wave':
        """A bend that swings through most of ``[-limit, limit]``."""
        return cls.random(rng, (-0.2 * limit, 0.2 * limit), (0.4 * limit, 0.8 * limit))


@dataclass
class Limb:
    """A part attached at the far end of its parent, rotating about that joint."""

    shape: Capsule
    joint: Wave  # angle relative to the parent's axis tangent
    bend: Wave  # curvature


@dataclass
class SceneMotion:
    """Everything that moves, as functions of time."""

    angle: Wave
    scale: Wave
    offset: Tuple[Wave, Wave]
    body_bend: Wave
    background: Tuple[Wave, Wave, Wave, Wave]  # angle, scale, x, y
    fit_scale: float = 1.0
    fit_offset: np.ndarray = field(default_factory=lambda: np.zeros(2))


@dataclass
class FrameLayers:
    """Which part covers each point of a frame and where on that part it is."""

    part: np.ndarray  # [...] index of the top part, -1 for background
    canonical: np.ndarray  # [..., 2] canonical coordinates on that part
    clean: np.ndarray  # [...] colour is that part's (or background's) alone


class SyntheticScene:
    """One procedural video: geometry, motion, textures and rendering.

    Args:
        rng: random generator that fixes the scene's shape and motion.
        num_frames: frames in the video (time is sampled evenly in [0, 1]).
        limbs_per_side: chain lengths attached at the body's two ends.
    """

    def __init__(self, rng: np.random.Generator, num_frames: int,
                 limbs_per_side: Sequence[int] = (1, 1)) -> None:
        if num_frames < 2:
            raise ValueError(f'a synthetic video needs at least 2 frames, got {num_frames}')
        self.num_frames = num_frames
        self.body, self.chains = self._sample_shapes(rng, limbs_per_side)
        self.parts: List[Capsule] = [self.body] + [limb.shape for chain in self.chains
                                                   for limb in chain]
        self.motion = self._sample_motion(rng)
        self.texture_seed = int(rng.integers(2**31))
        self._fit_to_frame()
        self._textures = {}

    # --- sampling -----------------------------------------------------------
    @staticmethod
    def _sample_shapes(rng, limbs_per_side):
        length = rng.uniform(0.6, 0.9)
        width = rng.uniform(0.19, 0.26)
        body = Capsule(-length / 2, length / 2, width, width * rng.uniform(0.75, 1.1))
        chains = []
        for side, count in enumerate(limbs_per_side):
            chain = []
            joint_width = body.w1 if side == 0 else body.w0
            parent = body
            for _ in range(count):
                limb_length = rng.uniform(0.45, 0.65)
                w0 = joint_width * rng.uniform(0.75, 0.95)
                w1 = w0 * rng.uniform(0.6, 0.95)
                bend_limit = min(1.1 / limb_length, 0.8 / w0)
                limb = Limb(Capsule(0.0, limb_length, w0, w1),
                            joint=Wave.random(rng, (-0.6, 0.6), (0.7, 1.4)),
                            bend=Wave.curvature(rng, bend_limit))
                # the limb's round end covers its parent's end
                if parent is body and side == 1:
                    body.clear0 = w0 + _KEYPOINT_CLEARANCE
                else:
                    parent.clear1 = w0 + _KEYPOINT_CLEARANCE
                chain.append(limb)
                parent, joint_width = limb.shape, w1
            chains.append(chain)
        return body, chains

    def _sample_motion(self, rng) -> SceneMotion:
        body_limit = min(1.0 / (self.body.u1), 0.8 / max(self.body.w0, self.body.w1))
        return SceneMotion(
            angle=Wave.random(rng, (-np.pi, np.pi), (0.6, 1.5)),
            scale=Wave.random(rng, (0.95, 1.05), (0.05, 0.25)),
            offset=(Wave.random(rng, (-0.1, 0.1), (0.05, 0.2)),
                    Wave.random(rng, (-0.1, 0.1), (0.05, 0.2))),
            body_bend=Wave.curvature(rng, body_limit),
            background=(Wave.random(rng, (-0.05, 0.05), (0.0, 0.08)),
                        Wave.random(rng, (1.0, 1.05), (0.0, 0.05)),
                        Wave.random(rng, (-0.05, 0.05), (0.0, 0.08)),
                        Wave.random(rng, (-0.05, 0.05), (0.0, 0.08))))

    def _fit_to_frame(self, margin: float = 0.92) -> None:
        """Scale and centre the motion so the object stays inside the frame."""
        outlines = []
        for index in range(self.num_frames):
            for pose, shape in zip(self.poses(index), self.parts):
                outlines.append(pose.forward(shape.outline()))
        points = np.concatenate(outlines)
        low, high = points.min(axis=0), points.max(axis=0)
        scale = min(1.0, 2 * margin / max(high - low))
        self.motion.fit_scale = scale
        self.motion.fit_offset = -scale * (low + high) / 2

    # --- geometry -----------------------------------------------------------
    def time(self, index: int) -> float:
        return index / (self.num_frames - 1)

    def poses(self, index: int) -> List[PartPose]:
        """Pose of every part in frame ``index``, in drawing order (body first)."""
        t, motion = self.time(index), self.motion
        placement = Similarity(motion.angle(t), motion.fit_scale * motion.scale(t),
                               tuple(motion.fit_scale * np.array(
                                   [motion.offset[0](t), motion.offset[1](t)])
                                   + motion.fit_offset))
        body = PartPose(motion.body_bend(t), placement)
        poses = [body]
        for side, chain in enumerate(self.chains):
            parent, attach = body, (self.body.u1 if side == 0 else self.body.u0)
            turn = 0.0 if side == 0 else np.pi
            for limb in chain:
                anchor = parent.axis_frame(attach)
                pose = PartPose(limb.bend(t), Similarity(anchor.angle + turn + limb.joint(t),
                                                         anchor.scale, anchor.offset))
                poses.append(pose)
                parent, attach, turn = pose, limb.shape.u1, 0.0
        return poses

    def background_pose(self, index: int) -> Similarity:
        t = self.time(index)
        angle, scale, x, y = (wave(t) for wave in self.motion.background)
        return Similarity(angle, scale, (x, y))

    @property
    def num_keypoints(self) -> int:
        return KEYPOINTS_PER_PART * len(self.parts)

    @property
    def keypoint_parts(self) -> np.ndarray:
        """Index of the part every keypoint belongs to."""
        return np.repeat(np.arange(len(self.parts)), KEYPOINTS_PER_PART)

    def keypoints(self, index: int) -> np.ndarray:
        """``[P, 2]`` keypoints of frame ``index`` in [-1, 1] coordinates."""
        return np.concatenate([pose.forward(shape.keypoints())
                               for pose, shape in zip(self.poses(index), self.parts)])

    def layers(self, index: int, points: np.ndarray, pixels_per_unit: float) -> FrameLayers:
        """Coverage of ``points`` ``[..., 2]`` in frame ``index``."""
        part = np.full(points.shape[:-1], -1, dtype=np.int64)
        canonical = np.zeros_like(points)
        clean = np.ones(points.shape[:-1], dtype=bool)
        for number, (pose, shape) in enumerate(zip(self.poses(index), self.parts)):
            local, distance = _part_distance(pose, shape, points, pixels_per_unit)
            inside = distance < 0
            part[inside] = number
            canonical[inside] = local[inside]
            # a part edge mixes colours within a pixel of it
            clean = np.where(inside, distance < -_CLEAN_MARGIN,
                             clean & (distance > _CLEAN_MARGIN))
        return FrameLayers(part, canonical, clean)

    def visible_keypoints(self, index: int) -> np.ndarray:
        """``[P]`` bool: the keypoint lies in the frame on top of its own part."""
        points = self.keypoints(index)
        top = self.layers(index, points, pixels_per_unit=1e6).part
        inside = np.all(np.abs(points) <= 1, axis=-1)
        return inside & (top == self.keypoint_parts)

    # --- rendering ----------------------------------------------------------
    def _texture(self, which: int, size: int) -> Tuple[np.ndarray, float, Tuple[float, float]]:
        """Texture tile of part ``which`` (-1: background) for frames of ``size`` pixels.

        Returns the tile, its pixels per canonical unit and the canonical
        coordinates of its top-left pixel.
        """
        key = (which, size)
        if key not in self._textures:
            rng = np.random.default_rng([self.texture_seed, which + 1, size])
            if which < 0:  # the background is coarser and a little out of focus
                per_unit = _BACKGROUND_SAMPLING * (size - 1) / 2
                u0, u1, v0, v1 = -1.6, 1.6, -1.6, 1.6
                period, contrast = per_unit * rng.uniform(0.12, 0.25), 0.45
            else:
                per_unit = _TEXTURE_OVERSAMPLING * (size - 1) / 2
                u0, u1, v0, v1 = self.parts[which].extent()
                period, contrast = per_unit * rng.uniform(0.05, 0.1), 0.6
            pad = 4 / per_unit
            u0, v0 = u0 - pad, v0 - pad
            shape = (int(np.ceil((v1 + pad - v0) * per_unit)) + 1,
                     int(np.ceil((u1 + pad - u0) * per_unit)) + 1)
            tile = procedural_texture(rng, *shape, period=period, contrast=contrast)
            self._textures[key] = (tile, per_unit, (u0, v0))
        return self._textures[key]

    def _sample_texture(self, which: int, size: int, canonical: np.ndarray) -> np.ndarray:
        tile, per_unit, (u0, v0) = self._texture(which, size)
        map_x = ((canonical[..., 0] - u0) * per_unit).astype(np.float32)
        map_y = ((canonical[..., 1] - v0) * per_unit).astype(np.float32)
        return cv2.remap(tile, map_x, map_y, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT_101)

    def render(self, index: int, size: int) -> np.ndarray:
        """Frame ``index`` as ``[size, size, 3]`` float32 RGB in [0, 1].

        Each part is drawn over the pixels of its bounding box only, with an
        anti-aliased edge one pixel wide.
        """
        grid = pixel_grid(size)
        per_unit = (size - 1) / 2
        image = self._sample_texture(-1, size, self.background_pose(index).invert(grid))
        for number, (pose, shape) in enumerate(zip(self.poses(index), self.parts)):
            window = _pixel_window(pose.forward(shape.outline()), size)
            if window is None:
                continue
            local = pose.inverse(grid[window])
            distance = shape.distance(local) * pose.placement.scale * per_unit
            alpha = np.clip(0.5 - distance, 0.0, 1.0).astype(np.float32)[..., None]
            colour = self._sample_texture(number, size, local)
            image[window] = alpha * colour + (1 - alpha) * image[window]
        return image

    def correspondence(self, source_index: int, driving_index: int,
                       size: int) -> Tuple[np.ndarray, np.ndarray]:
        """Where every driving pixel is in the source frame.

        Returns:
            grid: ``[size, size, 2]`` source coordinates in [-1, 1] (a backward
                warp ready for ``grid_sample(align_corners=True)``).
            valid: ``[size, size]`` bool, true where the point is visible,
                away from edges, in both frames.
        """
        per_unit = (size - 1) / 2
        driving = self.layers(driving_index, pixel_grid(size), per_unit)
        source_poses = self.poses(source_index)
        grid = self.background_pose(source_index).apply(
            self.background_pose(driving_index).invert(pixel_grid(size)))
        for number, pose in enumerate(source_poses):
            on_part = driving.part == number
            grid[on_part] = pose.forward(driving.canonical[on_part])
        source = self.layers(source_index, grid, per_unit)
        inside = np.all(np.abs(grid) <= 1 - 1 / per_unit, axis=-1)
        valid = driving.clean & source.clean & (source.part == driving.part) & inside
        return grid, valid


def _part_distance(pose: PartPose, shape: Capsule, points: np.ndarray,
                   pixels_per_unit: float) -> Tuple[np.ndarray, np.ndarray]:
    """Canonical coordinates and pixel distance to ``shape`` of every point.

    Only points within the part's bounding box (plus a margin) are mapped;
    the others get a large distance.
    """
    outline = pose.forward(shape.outline())
    margin = 2.0 / pixels_per_unit
    near = np.all((points >= outline.min(axis=0) - margin)
                  & (points <= outline.max(axis=0) + margin), axis=-1)
    local = np.zeros_like(points)
    distance = np.full(points.shape[:-1], 1e3)
    local[near] = pose.inverse(points[near])
    distance[near] = shape.distance(local[near]) * pose.placement.scale * pixels_per_unit
    return local, distance


def _pixel_window(points: np.ndarray, size: int):
    """Row and column slices of the pixels around ``points`` (None if off-frame)."""
    per_unit = (size - 1) / 2
    low = np.floor((points.min(axis=0) + 1) * per_unit).astype(int) - 1
    high = np.ceil((points.max(axis=0) + 1) * per_unit).astype(int) + 2
    low, high = np.maximum(low, 0), np.minimum(high, size)
    if np.any(high <= low):
        return None
    return slice(low[1], high[1]), slice(low[0], high[0])


_GRIDS = {}


def pixel_grid(size: int) -> np.ndarray:
    """``[size, size, 2]`` pixel centres in [-1, 1] (x first), align_corners=True."""
    if size not in _GRIDS:
        axis = np.linspace(-1.0, 1.0, size)
        _GRIDS[size] = np.stack(np.meshgrid(axis, axis), axis=-1)
    return _GRIDS[size]
