# FOMM scaled down for 128x128 images: keypoints and dense motion at 32x32
# (scale 1/4) with 4-level hourglasses, narrower layers, 3 residual blocks.
_base_ = ['./fomm.py']

model = dict(
    image_size=(128, 128),
    keypoint_detector=dict(max_features=256, num_blocks=4),
    dense_motion=dict(block_expansion=32, max_features=256, num_blocks=4),
    generator=dict(block_expansion=32, max_features=128, num_bottleneck_blocks=3))
