# The synthetic large-motion dataset at 64x64: procedural videos of textured,
# articulated, bending objects with ground-truth keypoints, generated from the
# seed (nothing to download). 2000 training videos of 32 frames; 50 test videos.
dataset_type = 'SyntheticMotionDataset'
frame_size = 64
seed = 0

train_pipeline = [
    dict(type='RandomTimeFlip'),
    dict(type='RandomHorizontalFlip'),
    dict(type='PackFramePair'),
]
test_pipeline = [dict(type='PackFramePair')]

train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        size=frame_size,
        split='train',
        num_videos=2000,
        num_frames=32,
        seed=seed,
        pipeline=train_pipeline))

# Reconstruction protocol: one item per test frame, frame 0 of its video as source.
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        size=frame_size,
        split='test',
        num_videos=50,
        num_frames=32,
        seed=seed,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
