# The lite TPSMM synthetic training config shrunk for the exact-resume and
# fault-injection tests: 32x32 frames, 8-32 channels, 2 groups of 5
# keypoints; 4 videos in batches of 2 (2 iterations per epoch) read by one
# worker; a checkpoint every epoch, the last one kept; no images.
_base_ = ['../../../configs/tpsmm/tpsmm_k10-lite_1xb8-20e_synthetic-64.py']

model = dict(
    image_size=(32, 32),
    motion=dict(num_groups=2),
    keypoint_detector=dict(num_keypoints=10, block_expansion=8, max_features=32),
    dense_motion=dict(block_expansion=8, max_features=32),
    generator=dict(block_expansion=8, max_features=32))
train_dataloader = dict(batch_size=2, num_workers=1, dataset=dict(size=32, num_videos=4))
train_cfg = dict(max_epochs=6)
param_scheduler = dict(milestones=[4])
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=1))
custom_hooks = [dict(type='SetEpochHook'), dict(type='NonFiniteLossHook', action='stop')]
