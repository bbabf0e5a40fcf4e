"""Motion models: keypoints to backward transformations (one interface)."""
from .affine import AffineMotion
from .base import BaseMotion, Keypoints, MotionParams
from .cpab_motion import CPABMotion
from .tps import TPSMotion, tps_kernel

__all__ = [
    'BaseMotion', 'AffineMotion', 'CPABMotion', 'TPSMotion', 'Keypoints', 'MotionParams',
    'tps_kernel'
]
