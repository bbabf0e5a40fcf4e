# CPABMM on VoxCeleb 256 (AAAI 2024): the CPAB motion model, TPSMM's losses
# plus the SAM keypoint semantic and DINO structure alignment losses
# (configs/_base_/models/cpabmm.py), batch 8, lr 1e-4, TPSMM's VoxCeleb
# settings otherwise (75 repeats, background from epoch 10, dropout
# 0.1 -> 0.3). For the published per-frame Adam fit (100 partial / 150
# global steps) use --cfg-options model.motion.solver=adam.
_base_ = [
    '../_base_/models/cpabmm.py', '../_base_/datasets/vox-256.py',
    '../_base_/schedules/tpsmm-100e.py', '../_base_/default_runtime.py'
]

model = dict(
    bg_start=10,
    transform_dropout=dict(epochs=35, start_p=0.1, max_p=0.3, ramp_epochs=10))
train_dataloader = dict(batch_size=8, dataset=dict(times=75))
