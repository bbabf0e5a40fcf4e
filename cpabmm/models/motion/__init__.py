"""Motion models: keypoints to backward transformations (one interface)."""
from .affine import AffineMotion
from .base import BaseMotion, Keypoints, MotionParams
from .tps import TPSMotion, tps_kernel

__all__ = ['BaseMotion', 'AffineMotion', 'TPSMotion', 'Keypoints', 'MotionParams', 'tps_kernel']
