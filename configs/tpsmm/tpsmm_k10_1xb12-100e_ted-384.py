# TPSMM on TED-talks 384 (official config/ted-384.yaml): batch 12, 150
# repeats, background from epoch 0, dropout 0.0 -> 0.5.
_base_ = ['./tpsmm_k10_1xb28-100e_vox-256.py']

model = dict(
    image_size=(384, 384),
    bg_start=0,
    transform_dropout=dict(epochs=35, start_p=0.0, max_p=0.5, ramp_epochs=10))

train_dataloader = dict(
    batch_size=12,
    num_workers=6,
    dataset=dict(times=150, dataset=dict(data_root='data/ted-384')))
