"""Networks, motion models and the animator of cpabmm (registered in MODELS)."""
from . import backbones, losses
from .animator import ImageAnimator
from .compile import CompileUnavailableError, check_compile_available, compile_model
from .data_preprocessor import AnimationDataPreprocessor
from .dense_motion import AVDNetwork, BackgroundMotionPredictor, DenseMotionNetwork
from .generators import InpaintingGenerator, OcclusionAwareGenerator
from .keypoints import HeatmapKeypointDetector, ResNetKeypointDetector
from .motion import AffineMotion, BaseMotion, CPABMotion, TPSMotion

__all__ = [
    'ImageAnimator', 'AnimationDataPreprocessor', 'AVDNetwork', 'BackgroundMotionPredictor',
    'DenseMotionNetwork', 'InpaintingGenerator', 'OcclusionAwareGenerator',
    'HeatmapKeypointDetector', 'ResNetKeypointDetector', 'AffineMotion', 'BaseMotion',
    'CPABMotion', 'TPSMotion', 'CompileUnavailableError', 'check_compile_available',
    'compile_model',
]
