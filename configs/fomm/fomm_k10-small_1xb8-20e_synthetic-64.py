# FOMM scaled down for the 64x64 synthetic large-motion benchmark
# (configs/_base_/models/fomm-64.py), with the data and schedule of the TPSMM
# synthetic config so the two compare on equal terms (FOMM's own published
# optimiser: no weight decay, no clipping).
_base_ = ['../_base_/models/fomm-64.py', '../_base_/default_runtime.py']

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
    type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[14, 18], gamma=0.1)
