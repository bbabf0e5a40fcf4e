# Thin-Plate Spline Motion Model (Zhao & Zhang, CVPR 2022), 256x256, as
# published (official config/vox-256.yaml model_params), with its published
# optimisation: Adam lr 2e-4, betas (0.5, 0.999), weight decay 1e-4,
# inf-norm gradient clipping at 10, 100 epochs, lr x0.1 at epochs 70 and 90.
# Dataset configs set the background start and the dropout schedule.
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
)

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999), weight_decay=1e-4),
    clip_grad=dict(max_norm=10, norm_type=float('inf')))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[70, 90], gamma=0.1)
