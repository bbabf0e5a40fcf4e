# TPSMM on VoxCeleb 256 with the published settings (official
# config/vox-256.yaml): batch 28, dataset repeated 75 times per epoch,
# background from epoch 10, transformation dropout 0.1 -> 0.3 over the first
# 35 epochs (reaching 0.3 after 10); optimisation in _base_/models/tpsmm.py.
_base_ = [
    '../_base_/models/tpsmm.py', '../_base_/datasets/vox-256.py',
    '../_base_/schedules/tpsmm-100e.py', '../_base_/default_runtime.py'
]

model = dict(
    bg_start=10,
    transform_dropout=dict(epochs=35, start_p=0.1, max_p=0.3, ramp_epochs=10))
train_dataloader = dict(batch_size=28, dataset=dict(times=75))
