# TED-talks upper bodies at 384x384, in the layout prepared by the MRAA and
# TPSMM authors: data/ted/{train,test}/<id>#<clip>.mp4 (or a frame folder /
# PNG strip per clip). Same augmentation as VoxCeleb; 150 repeats per epoch.
_base_ = './vox-256.py'

data_root = 'data/ted'
frame_size = 384

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
    batch_size=12,
    dataset=dict(times=150, dataset=dict(data_root=data_root, pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
# No bundled landmark detector fits upper bodies (the papers use 18 OpenPose joints): AKD is
# skipped unless `metrics` lists it with a registered detector.
test_evaluator = dict(default_set='no_landmarks')
animation_dataset = dict(data_root=data_root, pipeline=test_pipeline)
