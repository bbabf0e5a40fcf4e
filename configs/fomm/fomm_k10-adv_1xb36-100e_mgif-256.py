# FOMM on MGif 256 (official config/mgif-256.yaml): batch 36, 25 repeats,
# one Jacobian map shared by all keypoints, and FOMM's adversarial training:
# a spectrally normalised patch discriminator at scale 1 (block_expansion 32,
# max_features 512, 4 blocks), LSGAN weight 1 and feature matching 10 on each
# of its 4 blocks, trained by a third Adam (lr 2e-4, betas (0.5, 0.999)) after
# each generator step.
_base_ = [
    '../_base_/models/fomm.py', '../_base_/datasets/mgif-256.py',
    '../_base_/schedules/fomm-100e.py', '../_base_/default_runtime.py'
]

model = dict(
    keypoint_detector=dict(single_jacobian_map=True),
    losses=dict(
        adversarial=dict(
            type='AdversarialTerm',
            loss=dict(
                type='AdversarialLoss',
                discriminator=dict(
                    type='MultiScaleDiscriminator',
                    scales=(1, ),
                    block_expansion=32,
                    max_features=512,
                    num_blocks=4,
                    spectral_norm=True),
                generator_weight=1.,
                discriminator_weight=1.,
                feature_matching_weights=(10., 10., 10., 10.)))))
optim_wrapper = dict(
    discriminator=dict(
        modules=['losses.adversarial.loss.discriminator'],
        optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))
train_dataloader = dict(batch_size=36, dataset=dict(times=25))
