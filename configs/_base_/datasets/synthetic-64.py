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
    # Workers start anew every epoch, seeded from the main process's torch
    # generator, which checkpoints record: a resumed run draws the same
    # augmentation as an uninterrupted one (docs/reliability.md).
    persistent_workers=False,
    worker_init_fn=dict(type='cpabmm.seed_worker'),
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
    # round_up=False: no frame is evaluated twice in distributed runs
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
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

# Evaluation (tools/test.py; docs/evaluation.md). An evaluator without
# `metrics` computes its default set and skips, with the reason, the metrics
# whose packages or weights are missing; metrics listed in `metrics` are
# required. Validation during training uses the metrics that need no network.
val_cfg = dict(type='ValLoop')
val_evaluator = dict(
    type='AnimationEvaluator',
    metrics=[dict(type='L1'), dict(type='PSNR'), dict(type='SSIM'), dict(type='MotionError')])
test_cfg = dict(type='AnimationTestLoop', protocol='reconstruction')
# (`metrics=None` means the default set; MMEngine needs the key to build the
# evaluator by type.)
test_evaluator = dict(type='AnimationEvaluator', metrics=None, default_set='synthetic')
