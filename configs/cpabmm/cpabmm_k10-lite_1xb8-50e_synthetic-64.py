# The bundled model-zoo checkpoint's config: the reduced-width CPABMM of
# cpabmm_k10-lite_1xb8-20e_synthetic-64.py trained 2.5x longer (50 epochs of
# 320 synthetic videos at batch 8: 2,000 iterations, lr x0.1 at epochs 35 and
# 45), which takes about 1.5 hours on one CPU thread. Checkpoints every 5
# epochs, the last three kept.
_base_ = ['./cpabmm_k10-lite_1xb8-20e_synthetic-64.py']

train_cfg = dict(max_epochs=50)
param_scheduler = dict(milestones=[35, 45])
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=3))
