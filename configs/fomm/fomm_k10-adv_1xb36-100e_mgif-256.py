# FOMM on MGif 256 (official config/mgif-256.yaml): batch 36, 25 repeats,
# one Jacobian map shared by all keypoints. This is FOMM's adversarial
# setting (LSGAN weight 1 + feature matching 10 on 4 layers, discriminator at
# scale 1): its losses come with the training configs.
_base_ = [
    '../_base_/models/fomm.py', '../_base_/datasets/mgif-256.py',
    '../_base_/default_runtime.py'
]

model = dict(keypoint_detector=dict(single_jacobian_map=True))
train_dataloader = dict(batch_size=36, dataset=dict(times=25))
