"""The one home of pictures: uint8 conversion, the keypoint palette,
side-by-side panels and the registered :class:`AnimationVisualizer`."""
from .images import to_uint8
from .keypoints import draw_keypoints, keypoint_colors, keypoints_to_pixels
from .side_by_side import animation_panels, side_by_side
from .visualizer import AnimationVisualizer

__all__ = [
    'AnimationVisualizer', 'animation_panels', 'draw_keypoints', 'keypoint_colors',
    'keypoints_to_pixels', 'side_by_side', 'to_uint8'
]
