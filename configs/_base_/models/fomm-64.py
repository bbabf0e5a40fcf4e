# FOMM scaled down for 64x64 images (the synthetic benchmark): keypoints and
# dense motion at 32x32 (scale 1/2) with 4-level hourglasses (26x26 heatmaps
# from the unpadded 7x7 head), narrower layers, 3 residual blocks.
# No training losses here: the synthetic training configs use weight-free
# ones (the VGG-19 of the published losses cannot be downloaded offline).
_base_ = ['./fomm.py']

model = dict(
    image_size=(64, 64),
    losses=dict(_delete_=True),
    keypoint_detector=dict(max_features=256, num_blocks=4, scale_factor=0.5),
    dense_motion=dict(block_expansion=32, max_features=256, num_blocks=4, scale_factor=0.5),
    generator=dict(block_expansion=32, max_features=128, num_bottleneck_blocks=3))
