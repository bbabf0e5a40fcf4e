# TPSMM on TaiChiHD 256 (official config/taichi-256.yaml): batch 28, 150
# repeats, background from epoch 0, dropout 0.0 -> 0.7.
_base_ = ['./tpsmm_k10_1xb28-100e_vox-256.py']

model = dict(
    bg_start=0,
    transform_dropout=dict(epochs=35, start_p=0.0, max_p=0.7, ramp_epochs=10))

train_dataloader = dict(
    dataset=dict(times=150, dataset=dict(data_root='data/taichi')))
