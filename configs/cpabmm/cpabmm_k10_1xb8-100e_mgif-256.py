# CPABMM on MGif 256: the CPAB motion model and CPABMM's losses
# (configs/_base_/models/cpabmm.py), batch 8, lr 1e-4 (as for VoxCeleb),
# TPSMM's MGif settings otherwise (50 repeats, no background transform,
# dropout 0.2 -> 0.5).
_base_ = [
    '../_base_/models/cpabmm.py', '../_base_/datasets/mgif-256.py',
    '../_base_/schedules/tpsmm-100e.py', '../_base_/default_runtime.py'
]

model = dict(
    background=None,
    transform_dropout=dict(epochs=35, start_p=0.2, max_p=0.5, ramp_epochs=10))
train_dataloader = dict(batch_size=8, dataset=dict(times=50))
