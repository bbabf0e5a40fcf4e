# MGif cartoon animals at 256x256, in the layout prepared by the FOMM authors:
# data/mgif/{train,test}/<name>.gif. No identities (id_sampling off);
# augmentation as in the published configs: flips, random rescale by 0.9-1.1
# then a random 256 crop, strong hue jitter; 50 repeats per epoch.
_base_ = './vox-256.py'

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

train_dataloader = dict(
    dataset=dict(
        times=50,
        dataset=dict(data_root=data_root, id_sampling=False, pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
# No bundled landmark detector fits cartoon animals (the papers report L1 only): AKD is
# skipped unless `metrics` lists it with a registered detector.
test_evaluator = dict(default_set='no_landmarks')
animation_dataset = dict(data_root=data_root)
