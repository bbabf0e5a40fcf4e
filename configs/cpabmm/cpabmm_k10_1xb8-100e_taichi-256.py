# CPABMM on TaiChiHD 256: the TPSMM TaiChi config with the CPAB motion model,
# batch 8, lr 1e-4, dataset repeated 300 times per epoch. The published Adam
# fit runs 200 partial / 300 global steps on TaiChi (solver='adam').
_base_ = ['../tpsmm/tpsmm_k10_1xb28-100e_taichi-256.py']

model = dict(motion=dict(type='CPABMotion', solver='fast'))
train_dataloader = dict(batch_size=8, dataset=dict(times=300))
optim_wrapper = dict(optimizer=dict(lr=1e-4))
