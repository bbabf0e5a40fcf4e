# FOMM on MGif 256 (official config/mgif-256.yaml): batch 36, 25 repeats,
# one Jacobian map shared by all keypoints, scale and crop augmentation with
# strong hue jitter, no identity sampling. This is FOMM's adversarial setting
# (LSGAN weight 1 + feature matching 10 on 4 layers, multi-scale
# discriminator at scale 1): its losses come with the training configs.
_base_ = ['./fomm_k10_1xb40-100e_vox-256.py']

model = dict(keypoint_detector=dict(single_jacobian_map=True))

train_dataloader = dict(
    batch_size=36,
    dataset=dict(
        times=25,
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
