"""Keypoint detectors (FOMM's heatmap detector, TPSMM's ResNet regressor) and
the relative keypoint transfer used when animating."""
from .heatmap_detector import HeatmapKeypointDetector
from .relative_motion import movement_scale, relative_keypoints
from .resnet_detector import ResNetKeypointDetector

__all__ = [
    'HeatmapKeypointDetector', 'ResNetKeypointDetector', 'movement_scale', 'relative_keypoints'
]
