"""Procedural large-motion videos with ground-truth keypoints."""
from .dataset import SyntheticMotionDataset
from .scene import SyntheticScene, pixel_grid

__all__ = ['SyntheticMotionDataset', 'SyntheticScene', 'pixel_grid']
