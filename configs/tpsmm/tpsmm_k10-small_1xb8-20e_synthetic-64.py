# TPSMM scaled down for the 64x64 synthetic large-motion benchmark
# (_base_/models/tpsmm-64.py). The schedule is a starting point for a CPU
# run: batch 8, 20 epochs, lr 2e-4 x0.1 at 14 and 18, background from epoch
# 0, dropout 0.1 -> 0.3 over the first 7 epochs.
_base_ = [
    '../_base_/models/tpsmm-64.py', '../_base_/datasets/synthetic-64.py',
    '../_base_/default_runtime.py'
]

model = dict(
    bg_start=0,
    transform_dropout=dict(epochs=7, start_p=0.1, max_p=0.3, ramp_epochs=2))
train_dataloader = dict(batch_size=8)
train_cfg = dict(max_epochs=20)
param_scheduler = dict(milestones=[14, 18])
