"""Video datasets, frame-pair transforms and the synthetic motion dataset.

Importing this package registers every dataset in ``DATASETS``, every
transform in ``TRANSFORMS`` and the workers' seeding in ``FUNCTIONS``.
"""
from .base_video_dataset import FrameCursor, VideoDatasetBase
from .cross_identity_dataset import CrossIdentityDataset
from .synthetic import SyntheticMotionDataset, SyntheticScene
from .transforms import (ColorJitter, PackFramePair, RandomCropFrames,
                         RandomHorizontalFlip, RandomResizeFrames, RandomTimeFlip,
                         ResizeFrames)
from .video_frames_dataset import VideoFramesDataset
from .worker_seed import seed_worker

__all__ = [
    'ColorJitter', 'CrossIdentityDataset', 'FrameCursor', 'PackFramePair',
    'RandomCropFrames', 'RandomHorizontalFlip', 'RandomResizeFrames', 'RandomTimeFlip',
    'ResizeFrames', 'SyntheticMotionDataset', 'SyntheticScene', 'VideoDatasetBase',
    'VideoFramesDataset', 'seed_worker'
]
