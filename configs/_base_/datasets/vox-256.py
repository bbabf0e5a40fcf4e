# VoxCeleb talking heads at 256x256, in the layout prepared by the FOMM and
# TPSMM authors: data/vox/{train,test}/<id>#<video>#<clip>.mp4 (or a frame
# folder / PNG strip per clip). Augmentation as in the published configs.
# Model configs set the batch size and repeats of their own schedule.
dataset_type = 'VideoFramesDataset'
data_root = 'data/vox'
frame_size = 256

train_pipeline = [
    dict(type='ResizeFrames', size=frame_size),
    dict(type='RandomTimeFlip'),
    dict(type='RandomHorizontalFlip'),
    dict(type='ColorJitter', brightness=0.1, contrast=0.1, saturation=0.1, hue=0.1),
    dict(type='PackFramePair'),
]
test_pipeline = [
    dict(type='ResizeFrames', size=frame_size),
    dict(type='PackFramePair'),
]

train_dataloader = dict(
    batch_size=28,
    num_workers=4,
    # Workers start anew every epoch, seeded from the main process's torch
    # generator, which checkpoints record: a resumed run draws the same
    # augmentation as an uninterrupted one (docs/reliability.md).
    persistent_workers=False,
    worker_init_fn=dict(type='cpabmm.seed_worker'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='RepeatDataset',
        times=75,
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            id_sampling=True,
            pipeline=train_pipeline)))

# Reconstruction protocol: one item per test frame, frame 0 of its video as source.
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=False,
    # round_up=False: no frame is evaluated twice in distributed runs
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
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
    metrics=[dict(type='L1'), dict(type='PSNR'), dict(type='SSIM')])
test_cfg = dict(type='AnimationTestLoop', protocol='reconstruction')
# (`metrics=None` means the default set; MMEngine needs the key to build the
# evaluator by type.)
test_evaluator = dict(type='AnimationEvaluator', metrics=None, default_set='faces')

# Cross-identity animation (demo and qualitative evaluation): pairs of test
# videos from the authors' CSV, or drawn with a seed when pairs_file is None.
animation_dataset = dict(
    type='CrossIdentityDataset',
    data_root=data_root,
    pairs_file=None,
    num_pairs=100,
    seed=0,
    pipeline=test_pipeline)
# tools/test.py --protocol animation: no ground-truth frame, so only metrics
# against the source apply (AED with your identity embedder, gt_key='source').
animation_evaluator = dict(type='AnimationEvaluator', metrics=None, default_set='animation')
