# FOMM on VoxCeleb 256 with the published settings (official
# config/vox-256.yaml): batch 40, dataset repeated 75 times per epoch, no
# adversarial loss; optimisation in _base_/models/fomm.py.
_base_ = [
    '../_base_/models/fomm.py', '../_base_/datasets/vox-256.py',
    '../_base_/schedules/fomm-100e.py', '../_base_/default_runtime.py'
]

train_dataloader = dict(batch_size=40, dataset=dict(times=75))
