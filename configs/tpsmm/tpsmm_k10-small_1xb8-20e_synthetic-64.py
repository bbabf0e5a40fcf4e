# TPSMM scaled down for the 64x64 synthetic large-motion benchmark
# (configs/_base_/models/tpsmm-64.py). The schedule is a starting point for a
# CPU run: batch 8, 20 epochs of 2000 pairs, lr 2e-4 x0.1 at 14 and 18,
# background from epoch 0, dropout 0.1 -> 0.3 over the first 7 epochs.
_base_ = ['../_base_/models/tpsmm-64.py', '../_base_/default_runtime.py']

model = dict(
    bg_start=0,
    transform_dropout=dict(epochs=7, start_p=0.1, max_p=0.3, ramp_epochs=2))

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='SyntheticMotionDataset',
        size=64,
        split='train',
        pipeline=[dict(type='RandomTimeFlip'), dict(type='PackFramePair')]))

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=20)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999), weight_decay=1e-4),
    clip_grad=dict(max_norm=10, norm_type=float('inf')))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[14, 18], gamma=0.1)
