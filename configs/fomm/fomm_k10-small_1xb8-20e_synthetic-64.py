# FOMM scaled down for the 64x64 synthetic large-motion benchmark
# (_base_/models/fomm-64.py), with the batch and schedule of the TPSMM
# synthetic config so the two compare on equal terms.
_base_ = [
    '../_base_/models/fomm-64.py', '../_base_/datasets/synthetic-64.py',
    '../_base_/default_runtime.py'
]

train_dataloader = dict(batch_size=8)
train_cfg = dict(max_epochs=20)
param_scheduler = dict(milestones=[14, 18])
