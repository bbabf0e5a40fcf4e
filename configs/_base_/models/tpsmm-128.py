# TPSMM scaled down for 128x128 images: dense motion at 32x32 (scale 1/4)
# with a 4-level hourglass, 4 occlusion masks for a 3-level inpainting
# network, narrower layers.
_base_ = ['./tpsmm.py']

model = dict(
    image_size=(128, 128),
    dense_motion=dict(block_expansion=32, max_features=256, num_blocks=4),
    generator=dict(block_expansion=32, max_features=256, num_down_blocks=3))
