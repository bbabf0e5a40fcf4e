# FOMM on VoxCeleb 256 with the published training settings (official
# config/vox-256.yaml): batch 40, dataset repeated 75 times per epoch, 100
# epochs, lr 2e-4 x0.1 at epochs 60 and 90, Adam betas (0.5, 0.999), no
# weight decay, no gradient clipping, no adversarial loss.
# The TaiChi and MGif configs inherit this one.
_base_ = ['../_base_/models/fomm.py', '../_base_/default_runtime.py']

data_root = 'data/vox'
train_pipeline = [
    dict(type='RandomTimeFlip'),
    dict(type='RandomHorizontalFlip'),
    dict(type='ColorJitter', brightness=0.1, contrast=0.1, saturation=0.1, hue=0.1),
    dict(type='PackFramePair'),
]
train_dataloader = dict(
    batch_size=40,
    num_workers=12,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='RepeatDataset',
        times=75,
        dataset=dict(
            type='VideoFramesDataset',
            data_root=data_root,
            id_sampling=True,
            pipeline=train_pipeline)))

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100)
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[60, 90], gamma=0.1)
