# TPSMM on MGif 256 (official config/mgif-256.yaml): batch 28, 50 repeats,
# no background transform, dropout 0.2 -> 0.5, scale and crop augmentation
# with strong hue jitter, no identity sampling.
_base_ = ['./tpsmm_k10_1xb28-100e_vox-256.py']

model = dict(
    background=None,
    transform_dropout=dict(epochs=35, start_p=0.2, max_p=0.5, ramp_epochs=10))

train_dataloader = dict(
    dataset=dict(
        times=50,
        dataset=dict(
            data_root='data/moving-gif',
            id_sampling=False,
            pipeline=[
                dict(type='RandomTimeFlip'),
                dict(type='RandomHorizontalFlip'),
                dict(type='RandomResizeFrames', ratio=(0.9, 1.1)),
                dict(type='RandomCropFrames', size=256),
                dict(type='ColorJitter', hue=0.5),
                dict(type='PackFramePair'),
            ])))
