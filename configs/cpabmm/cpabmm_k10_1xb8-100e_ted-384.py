# CPABMM on TED-talks 384: the CPAB motion model and CPABMM's losses
# (configs/_base_/models/cpabmm.py), batch 8, lr 2e-4 (kept as published for
# TED), TPSMM's TED settings otherwise (150 repeats, background from epoch 0,
# dropout 0.0 -> 0.5).
_base_ = [
    '../_base_/models/cpabmm.py', '../_base_/datasets/ted-384.py',
    '../_base_/schedules/tpsmm-100e.py', '../_base_/default_runtime.py'
]

model = dict(
    image_size=(384, 384),
    bg_start=0,
    transform_dropout=dict(epochs=35, start_p=0.0, max_p=0.5, ramp_epochs=10))
optim_wrapper = dict(
    generator=dict(optimizer=dict(lr=2e-4)), background=dict(optimizer=dict(lr=2e-4)))
train_dataloader = dict(batch_size=8, dataset=dict(times=150))
