# First Order Motion Model (Siarohin et al., NeurIPS 2019), 256x256, as
# published (official config/vox-256.yaml model_params): heatmap keypoints
# with Jacobians, local affine motion, BatchNorm, one occlusion mask; with its
# published losses and optimisers: VGG-19 perceptual pyramid (weight 10 on 5
# layers x 4 scales) and equivariance of values and Jacobians (10 each, FOMM's
# random TPS); Adam lr 2e-4, betas (0.5, 0.999), no weight decay, no gradient
# clipping, one optimiser for the generator (with the dense motion network)
# and one for the keypoint detector; the adversarial configs add the
# discriminator and its optimiser. Schedule: _base_/schedules/fomm-100e.py.
model = dict(
    type='ImageAnimator',
    data_preprocessor=dict(type='AnimationDataPreprocessor'),
    num_channels=3,
    image_size=(256, 256),
    keypoint_detector=dict(
        type='HeatmapKeypointDetector',
        num_keypoints=10,
        block_expansion=32,
        max_features=1024,
        num_blocks=5,
        temperature=0.1,
        scale_factor=0.25,
        estimate_jacobian=True,
        single_jacobian_map=False),
    motion=dict(type='AffineMotion', num_keypoints=10, use_jacobian=True),
    dense_motion=dict(
        type='DenseMotionNetwork',
        block_expansion=64,
        max_features=1024,
        num_blocks=5,
        scale_factor=0.25,
        norm='batch',
        input_layout='interleaved',
        num_occlusion_masks=1),
    generator=dict(
        type='OcclusionAwareGenerator',
        block_expansion=64,
        max_features=512,
        num_down_blocks=2,
        num_bottleneck_blocks=6,
        norm='batch'),
    losses=dict(
        perceptual=dict(type='ImageLossTerm', loss=dict(type='PerceptualPyramidLoss')),
        equivariance=dict(
            type='EquivarianceTerm',
            loss=dict(type='EquivarianceLoss', jacobian_weight=10., radial='manhattan'))),
)

fomm_adam = dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))
optim_wrapper = dict(
    constructor='ModuleOptimWrapperConstructor',
    generator=dict(modules=['dense_motion', 'generator'], optimizer=fomm_adam),
    keypoint_detector=dict(modules=['keypoint_detector'], optimizer=fomm_adam))
