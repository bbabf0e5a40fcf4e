# FOMM on TaiChiHD 256 (official config/taichi-256.yaml): batch 30, 150
# repeats, no adversarial loss.
_base_ = [
    '../_base_/models/fomm.py', '../_base_/datasets/taichi-256.py',
    '../_base_/schedules/fomm-100e.py', '../_base_/default_runtime.py'
]

train_dataloader = dict(batch_size=30, dataset=dict(times=150))
