# CPABMM on TED-talks 384: the TPSMM TED config with the CPAB motion model,
# batch 8; lr 2e-4 kept, as published for TED.
_base_ = ['../tpsmm/tpsmm_k10_1xb12-100e_ted-384.py']

model = dict(motion=dict(type='CPABMotion', solver='fast'))
train_dataloader = dict(batch_size=8)
