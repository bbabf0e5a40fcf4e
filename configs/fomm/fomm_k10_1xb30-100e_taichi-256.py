# FOMM on TaiChiHD 256 (official config/taichi-256.yaml): batch 30, 150
# repeats.
_base_ = ['./fomm_k10_1xb40-100e_vox-256.py']

train_dataloader = dict(
    batch_size=30,
    dataset=dict(times=150, dataset=dict(data_root='data/taichi')))
