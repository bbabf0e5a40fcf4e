# CPABMM on VoxCeleb 256 (AAAI 2024): the TPSMM VoxCeleb config with the CPAB
# motion model (configs/_base_/models/cpabmm.py), batch 8, lr 1e-4.
# For the published per-frame Adam fit (100 partial / 150 global steps) use
# --cfg-options model.motion.solver=adam.
_base_ = ['../tpsmm/tpsmm_k10_1xb28-100e_vox-256.py']

model = dict(motion=dict(type='CPABMotion', solver='fast'))
train_dataloader = dict(batch_size=8)
optim_wrapper = dict(optimizer=dict(lr=1e-4))
