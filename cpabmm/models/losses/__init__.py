"""Training losses of FOMM, TPSMM and CPABMM (registered in MODELS).

Every registered loss returns a dict of weighted scalars named ``loss_*``;
the functions beside them return the unweighted values. The loss terms of
:mod:`.terms` feed them from the animator's forward pass.
"""
from .adversarial import (AdversarialLoss, MultiScaleDiscriminator, PatchDiscriminator,
                          feature_matching_loss, lsgan_discriminator_loss, lsgan_generator_loss)
from .equivariance import (EquivarianceLoss, RandomTPS, equivariance_jacobian_loss,
                           equivariance_value_loss)
from .feature_cache import FeatureCache, extract_features
from .keypoint_semantic import KeypointSemanticLoss, sample_at_keypoints
from .motion_consistency import (BackgroundCycleLoss, WarpLoss, background_cycle_loss,
                                 warp_loss)
from .pyramid import ImagePyramid, antialias_downsample
from .reconstruction import PerceptualPyramidLoss, ReconstructionPyramidLoss
from .ssim import ssim
from .structure import StructureAlignmentLoss, cosine_self_similarity
from .terms import LossTerm

__all__ = [
    'AdversarialLoss', 'BackgroundCycleLoss', 'EquivarianceLoss', 'FeatureCache', 'ImagePyramid',
    'KeypointSemanticLoss', 'LossTerm', 'MultiScaleDiscriminator', 'PatchDiscriminator',
    'PerceptualPyramidLoss', 'RandomTPS', 'ReconstructionPyramidLoss', 'StructureAlignmentLoss',
    'WarpLoss', 'antialias_downsample', 'background_cycle_loss', 'cosine_self_similarity',
    'equivariance_jacobian_loss', 'equivariance_value_loss', 'extract_features',
    'feature_matching_loss', 'lsgan_discriminator_loss', 'lsgan_generator_loss',
    'sample_at_keypoints', 'ssim', 'warp_loss',
]
