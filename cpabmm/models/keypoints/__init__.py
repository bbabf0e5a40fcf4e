"""Keypoint detectors: FOMM's heatmap detector and TPSMM's ResNet regressor."""
from .heatmap_detector import HeatmapKeypointDetector
from .resnet_detector import ResNetKeypointDetector

__all__ = ['HeatmapKeypointDetector', 'ResNetKeypointDetector']
