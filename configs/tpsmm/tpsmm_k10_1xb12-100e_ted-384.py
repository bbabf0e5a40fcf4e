# TPSMM on TED-talks 384 (official config/ted-384.yaml): batch 12, 150
# repeats, background from epoch 0, dropout 0.0 -> 0.5.
_base_ = [
    '../_base_/models/tpsmm.py', '../_base_/datasets/ted-384.py',
    '../_base_/schedules/tpsmm-100e.py', '../_base_/default_runtime.py'
]

model = dict(
    image_size=(384, 384),
    bg_start=0,
    transform_dropout=dict(epochs=35, start_p=0.0, max_p=0.5, ramp_epochs=10))
train_dataloader = dict(batch_size=12, dataset=dict(times=150))
