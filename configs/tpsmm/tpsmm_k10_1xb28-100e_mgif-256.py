# TPSMM on MGif 256 (official config/mgif-256.yaml): batch 28, 50 repeats,
# no background transform, dropout 0.2 -> 0.5.
_base_ = [
    '../_base_/models/tpsmm.py', '../_base_/datasets/mgif-256.py',
    '../_base_/schedules/tpsmm-100e.py', '../_base_/default_runtime.py'
]

model = dict(
    background=None,
    transform_dropout=dict(epochs=35, start_p=0.2, max_p=0.5, ramp_epochs=10))
train_dataloader = dict(batch_size=28, dataset=dict(times=50))
