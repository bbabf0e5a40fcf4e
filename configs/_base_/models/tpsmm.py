# Thin-Plate Spline Motion Model (Zhao & Zhang, CVPR 2022), 256x256, as
# published (official config/vox-256.yaml model_params), with its published
# losses and optimisers: VGG-19 perceptual pyramid, equivariance, warp and
# background cycle losses (weight 10 each); one Adam (lr 2e-4, betas
# (0.5, 0.999), weight decay 1e-4) for keypoint detector + dense motion +
# generator, clipping the detector's and the dense motion network's
# gradients each to an inf-norm of 10 (the generator unclipped, as in the
# official train.py), and one for the background predictor, clipped alike,
# which steps from epoch `bg_start` (when the predictor is first used). The
# schedule is in _base_/schedules/tpsmm-100e.py; dataset configs set the
# background start and the dropout schedule. The perceptual loss reads
# torchvision's VGG-19 file from the torch hub cache (docs/losses.md) at the
# first training step; inference needs no loss weights.
# The motion model is one entry: `--cfg-options model.motion.type=...` swaps
# it (CPABMM: configs/_base_/models/cpabmm.py); the dense motion network
# sizes itself from the motion model.
model = dict(
    type='ImageAnimator',
    data_preprocessor=dict(type='AnimationDataPreprocessor'),
    num_channels=3,
    image_size=(256, 256),
    keypoint_detector=dict(type='ResNetKeypointDetector', num_keypoints=50),
    motion=dict(type='TPSMotion', num_groups=10, points_per_group=5),
    background=dict(type='BackgroundMotionPredictor'),
    dense_motion=dict(
        type='DenseMotionNetwork',
        block_expansion=64,
        max_features=1024,
        num_blocks=5,
        scale_factor=0.25,
        norm='instance',
        input_layout='grouped',
        num_occlusion_masks=4),
    generator=dict(
        type='InpaintingGenerator',
        block_expansion=64,
        max_features=512,
        num_down_blocks=3,
        norm='instance'),
    avd=dict(type='AVDNetwork', id_bottleneck=128, pose_bottleneck=128),
    bg_start=0,
    transform_dropout=dict(epochs=35, start_p=0.1, max_p=0.3, ramp_epochs=10),
    losses=dict(
        perceptual=dict(type='ImageLossTerm', loss=dict(type='PerceptualPyramidLoss')),
        equivariance=dict(type='EquivarianceTerm'),
        warp=dict(type='WarpLossTerm'),
        background=dict(type='BackgroundCycleTerm')),
)

tpsmm_adam = dict(type='Adam', lr=2e-4, betas=(0.5, 0.999), weight_decay=1e-4)
tpsmm_clip_grad = dict(max_norm=10, norm_type=float('inf'))
optim_wrapper = dict(
    constructor='ModuleOptimWrapperConstructor',
    generator=dict(
        type='ModuleClipOptimWrapper',
        modules=['keypoint_detector', 'dense_motion', 'generator'],
        clip_modules=['keypoint_detector', 'dense_motion'],
        optimizer=tpsmm_adam,
        clip_grad=tpsmm_clip_grad),
    background=dict(
        type='ModuleClipOptimWrapper',
        modules=['background'],
        optimizer=tpsmm_adam,
        clip_grad=tpsmm_clip_grad))
