# A reduced-width FOMM for the 64x64 synthetic benchmark, the FOMM member of
# the lite family (tpsmm_k10-lite_1xb8-20e_synthetic-64.py,
# cpabmm_k10-lite_1xb8-20e_synthetic-64.py): the same data (320 videos per
# epoch, batch 8, 40 iterations per epoch), schedule (20 epochs, lr 5e-4 x0.1
# at epochs 14 and 18), checkpoints and frame size, and the same halved widths
# of the keypoint detector, dense motion network and inpainting generator.
# FOMM keeps its own motion: 10 keypoints with Jacobians (local affine
# transformations), its unpadded 7x7 heads and its loss set (the L1 + SSIM
# reconstruction pyramid shared with the lite TPSMM/CPABMM, and the
# equivariance of values and Jacobians).
_base_ = ['./fomm_k10-small_1xb8-20e_synthetic-64.py']

model = dict(
    keypoint_detector=dict(block_expansion=16, max_features=128, num_blocks=4),
    dense_motion=dict(block_expansion=16, max_features=128),
    generator=dict(block_expansion=16, max_features=64))
optim_wrapper = dict(
    generator=dict(optimizer=dict(lr=5e-4)), keypoint_detector=dict(optimizer=dict(lr=5e-4)))
train_dataloader = dict(num_workers=1, dataset=dict(num_videos=320))
default_hooks = dict(checkpoint=dict(interval=1))
