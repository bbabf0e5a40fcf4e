# The published TPSMM/CPABMM schedule: 100 epochs over the repeated dataset
# (the dataset configs set the repeats), learning rates x0.1 at epochs 70 and
# 90 (every optimiser), validation every 10 epochs, and the training hooks:
# the epoch drives the background start and the transformation dropout; a
# NaN/inf loss stops the run before the optimiser step; source | driving |
# prediction | keypoints | occlusion images every 500 iterations (under the
# work dir's vis_data).
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=10)
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[70, 90], gamma=0.1)
custom_hooks = [
    dict(type='SetEpochHook'),
    dict(type='NonFiniteLossHook', action='stop'),
    dict(type='AnimationVisualizationHook', interval=500, max_samples=4),
]
