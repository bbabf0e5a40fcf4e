# TPSMM on TaiChiHD 256 (official config/taichi-256.yaml): batch 28, 150
# repeats, background from epoch 0, dropout 0.0 -> 0.7.
_base_ = [
    '../_base_/models/tpsmm.py', '../_base_/datasets/taichi-256.py',
    '../_base_/schedules/tpsmm-100e.py', '../_base_/default_runtime.py'
]

model = dict(
    bg_start=0,
    transform_dropout=dict(epochs=35, start_p=0.0, max_p=0.7, ramp_epochs=10))
train_dataloader = dict(batch_size=28, dataset=dict(times=150))
