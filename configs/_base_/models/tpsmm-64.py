# TPSMM scaled down for 64x64 images (the synthetic benchmark): the dense
# motion network works at 32x32 (scale 1/2) with a 4-level hourglass (2x2 at
# the bottom, where the published 5 levels at 1/4 would pool below a pixel),
# 3 occlusion masks for a 2-level inpainting network, and narrower layers.
# No training losses here: the synthetic training configs use weight-free
# ones (the VGG-19 of the published losses cannot be downloaded offline).
_base_ = ['./tpsmm.py']

model = dict(
    image_size=(64, 64),
    losses=dict(_delete_=True),
    dense_motion=dict(
        block_expansion=32,
        max_features=256,
        num_blocks=4,
        scale_factor=0.5,
        num_occlusion_masks=3),
    generator=dict(block_expansion=32, max_features=128, num_down_blocks=2))
