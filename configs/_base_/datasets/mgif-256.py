# MGif cartoon animals at 256x256, in the layout prepared by the FOMM
# authors: data/mgif/{train,test}/<name>.gif. No identities (id_sampling off);
# augmentation as in the published configs: flips, random rescale by
# 0.9-1.1 then a random 256 crop, strong hue jitter.
# Model configs set the batch size and repeats of their own schedule.
dataset_type = 'VideoFramesDataset'
data_root = 'data/mgif'
frame_size = 256

train_pipeline = [
    dict(type='ResizeFrames', size=frame_size),
    dict(type='RandomResizeFrames', ratio=(0.9, 1.1)),
    dict(type='RandomTimeFlip'),
    dict(type='RandomHorizontalFlip'),
    dict(type='RandomCropFrames', size=frame_size),
    dict(type='ColorJitter', hue=0.5),
    dict(type='PackFramePair'),
]
test_pipeline = [
    dict(type='ResizeFrames', size=frame_size),
    dict(type='PackFramePair'),
]

train_dataloader = dict(
    batch_size=28,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='RepeatDataset',
        times=50,
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            id_sampling=False,
            pipeline=train_pipeline)))

# Reconstruction protocol: one item per test frame, frame 0 of its video as source.
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

animation_dataset = dict(
    type='CrossIdentityDataset',
    data_root=data_root,
    pairs_file=None,
    num_pairs=100,
    seed=0,
    pipeline=test_pipeline)
