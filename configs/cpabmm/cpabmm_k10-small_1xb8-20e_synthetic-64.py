# CPABMM scaled down for the 64x64 synthetic large-motion benchmark: the
# TPSMM synthetic config (schedule, weight-free losses) with the CPAB motion
# model (fast solver) and lr 1e-4 as published for CPABMM. The SAM and DINO
# losses are left out: their weights cannot be fetched offline.
_base_ = ['../tpsmm/tpsmm_k10-small_1xb8-20e_synthetic-64.py']

model = dict(motion=dict(type='CPABMotion', solver='fast'))
optim_wrapper = dict(
    generator=dict(optimizer=dict(lr=1e-4)), background=dict(optimizer=dict(lr=1e-4)))
