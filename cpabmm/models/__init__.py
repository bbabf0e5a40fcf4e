"""Networks, motion models and the animator of cpabmm (registered in MODELS)."""
from .avd import AVDNetwork
from .background import BackgroundMotionPredictor
from .dense_motion import DenseMotionNetwork
from .generators import InpaintingGenerator, OcclusionAwareGenerator
from .keypoints import HeatmapKeypointDetector, ResNetKeypointDetector
from .motion import AffineMotion, BaseMotion, TPSMotion

__all__ = [
    'AVDNetwork', 'BackgroundMotionPredictor', 'DenseMotionNetwork', 'InpaintingGenerator',
    'OcclusionAwareGenerator', 'HeatmapKeypointDetector', 'ResNetKeypointDetector',
    'AffineMotion', 'BaseMotion', 'TPSMotion',
]
