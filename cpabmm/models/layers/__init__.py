"""Building blocks shared by the networks: convolution blocks, the ResNet-18
trunk, sampling-grid geometry and the float32/mixed-precision helpers."""
from .blocks import (NORMS, AntiAliasDownsample, DownBlock2d, Hourglass, ResBlock2d, SameBlock2d,
                     UpBlock2d, build_norm, num_halvings)
from .geometry import (apply_projective, coordinate_grid, keypoint_heatmaps, resize_flow,
                       warp_image)
from .precision import MIXED_PRECISION, autocast_context, in_float32, to_float32
from .resnet import resnet18

__all__ = [
    'NORMS', 'AntiAliasDownsample', 'DownBlock2d', 'Hourglass', 'ResBlock2d', 'SameBlock2d',
    'UpBlock2d', 'build_norm', 'num_halvings', 'apply_projective', 'coordinate_grid',
    'keypoint_heatmaps', 'resize_flow', 'warp_image', 'MIXED_PRECISION', 'autocast_context',
    'in_float32', 'to_float32', 'resnet18',
]
