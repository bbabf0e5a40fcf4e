# The bundled model-zoo checkpoint's config: the reduced-width CPABMM of
# cpabmm_k10-lite_1xb8-20e_synthetic-64.py trained twice as long (40 epochs of
# 320 synthetic videos at batch 8: 1,600 iterations, lr x0.1 at epochs 28 and
# 36), about 1 to 2 hours on one CPU thread depending on the machine's load.
# Checkpoints every 4 epochs, the last three kept.
_base_ = ['./cpabmm_k10-lite_1xb8-20e_synthetic-64.py']

train_cfg = dict(max_epochs=40)
param_scheduler = dict(milestones=[28, 36])
default_hooks = dict(checkpoint=dict(interval=4, max_keep_ckpts=3))
