# CPABMM on TaiChiHD 256: the CPAB motion model and CPABMM's losses
# (configs/_base_/models/cpabmm.py), batch 8, lr 1e-4, dataset repeated 300
# times per epoch, background from epoch 0, dropout 0.0 -> 0.7 (TPSMM's
# TaiChi settings). The published Adam fit runs 200 partial / 300 global
# steps on TaiChi (solver='adam', adam_iterations=(200, 300)).
_base_ = [
    '../_base_/models/cpabmm.py', '../_base_/datasets/taichi-256.py',
    '../_base_/schedules/tpsmm-100e.py', '../_base_/default_runtime.py'
]

model = dict(
    bg_start=0,
    transform_dropout=dict(epochs=35, start_p=0.0, max_p=0.7, ramp_epochs=10))
train_dataloader = dict(batch_size=8, dataset=dict(times=300))
