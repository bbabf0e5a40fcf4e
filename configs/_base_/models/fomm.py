# First Order Motion Model (Siarohin et al., NeurIPS 2019), 256x256, as
# published (official config/vox-256.yaml model_params): heatmap keypoints
# with Jacobians, local affine motion, BatchNorm, one occlusion mask; with its
# published optimisation: Adam lr 2e-4, betas (0.5, 0.999), no weight decay,
# no gradient clipping, 100 epochs, lr x0.1 at epochs 60 and 90. (FOMM trains
# the keypoint detector with its own optimiser of the same settings, and a
# discriminator in its adversarial configs: see the training configs.)
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
)

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100)
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[60, 90], gamma=0.1)
