# FOMM scaled down for the 64x64 synthetic large-motion benchmark
# (_base_/models/fomm-64.py), with the batch, data and schedule of the TPSMM
# synthetic config so the two compare on equal terms (300 iterations, lr
# x0.1 at epochs 14 and 18). Losses need no downloaded weights: an L1 + SSIM
# pyramid replaces the VGG-19 perceptual pyramid (VGG-19 cannot be fetched
# offline), with FOMM's equivariance of values and Jacobians.
_base_ = [
    '../_base_/models/fomm-64.py', '../_base_/datasets/synthetic-64.py',
    '../_base_/schedules/fomm-100e.py', '../_base_/default_runtime.py'
]

model = dict(
    losses=dict(
        reconstruction=dict(type='ImageLossTerm', loss=dict(type='ReconstructionPyramidLoss')),
        equivariance=dict(
            type='EquivarianceTerm',
            loss=dict(type='EquivarianceLoss', jacobian_weight=10., radial='manhattan'))))
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
