# TPSMM scaled down for the 64x64 synthetic large-motion benchmark
# (_base_/models/tpsmm-64.py), sized to learn visibly in about 30 minutes on
# 2 CPU cores: batch 8, 20 epochs of 120 videos (15 iterations each, 300 in
# all), lr 2e-4 x0.1 at epochs 14 and 18, background from epoch 0, dropout
# 0.1 -> 0.3 over the first 7 epochs. Losses need no downloaded weights: the
# VGG-19 perceptual pyramid of the published configs is replaced by an L1 +
# SSIM pyramid on the same scales (weights 10 each; VGG-19 cannot be fetched
# offline), with the published equivariance, warp and background losses.
_base_ = [
    '../_base_/models/tpsmm-64.py', '../_base_/datasets/synthetic-64.py',
    '../_base_/schedules/tpsmm-100e.py', '../_base_/default_runtime.py'
]

model = dict(
    bg_start=0,
    transform_dropout=dict(epochs=7, start_p=0.1, max_p=0.3, ramp_epochs=2),
    losses=dict(
        reconstruction=dict(type='ImageLossTerm', loss=dict(type='ReconstructionPyramidLoss')),
        equivariance=dict(type='EquivarianceTerm'),
        warp=dict(type='WarpLossTerm'),
        background=dict(type='BackgroundCycleTerm')))
train_dataloader = dict(batch_size=8, dataset=dict(num_videos=120))
train_cfg = dict(max_epochs=20)
# No validation while training (a pass over the test split costs more than
# the training run); evaluate a checkpoint with tools/test.py.
val_dataloader = None
val_cfg = None
val_evaluator = None
param_scheduler = dict(milestones=[14, 18])
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=2))
randomness = dict(seed=0)
custom_hooks = [
    dict(type='SetEpochHook'),
    dict(type='NonFiniteLossHook', action='stop'),
    dict(type='AnimationVisualizationHook', interval=50, max_samples=4),
]
