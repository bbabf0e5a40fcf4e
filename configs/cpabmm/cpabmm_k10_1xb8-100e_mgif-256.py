# CPABMM on MGif 256: the TPSMM MGif config with the CPAB motion model,
# batch 8, lr 1e-4 (as for VoxCeleb).
_base_ = ['../tpsmm/tpsmm_k10_1xb28-100e_mgif-256.py']

model = dict(motion=dict(type='CPABMotion', solver='fast'))
train_dataloader = dict(batch_size=8)
optim_wrapper = dict(optimizer=dict(lr=1e-4))
