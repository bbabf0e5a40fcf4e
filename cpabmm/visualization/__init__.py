"""Pictures of animations: keypoints on frames, side-by-side frames."""
from .keypoints import draw_keypoints, keypoint_colors, keypoints_to_pixels
from .side_by_side import animation_panels, side_by_side

__all__ = [
    'animation_panels', 'draw_keypoints', 'keypoint_colors', 'keypoints_to_pixels',
    'side_by_side'
]
