"""The one home of pictures: uint8 conversion, the keypoint palette,
side-by-side panels, labels and the registered :class:`AnimationVisualizer`."""
from .images import to_uint8
from .keypoints import draw_keypoints, keypoint_colors, keypoints_to_pixels
from .labels import draw_label, label_box
from .side_by_side import (PREVIEW_MIN_SIZE, animation_panels, enlarge, enlargement,
                           panel_row, preview_size, side_by_side)
from .visualizer import AnimationVisualizer

__all__ = [
    'AnimationVisualizer', 'PREVIEW_MIN_SIZE', 'animation_panels', 'draw_keypoints',
    'draw_label', 'enlarge', 'enlargement', 'keypoint_colors', 'keypoints_to_pixels',
    'label_box', 'panel_row', 'preview_size', 'side_by_side', 'to_uint8'
]
