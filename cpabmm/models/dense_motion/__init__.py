"""The dense-motion family: the dense motion network that turns sparse motions
into a flow and occlusion masks, the background motion predictor and the
AVD network (registered in MODELS)."""
from .avd import AVDNetwork
from .background import BackgroundMotionPredictor
from .dense_motion import DenseMotionNetwork

__all__ = ['AVDNetwork', 'BackgroundMotionPredictor', 'DenseMotionNetwork']
