# The synthetic large-motion dataset at 128x128 (same videos and keypoints as
# synthetic-64, rendered at twice the resolution).
_base_ = './synthetic-64.py'

frame_size = 128

train_dataloader = dict(batch_size=8, dataset=dict(size=frame_size))
val_dataloader = dict(dataset=dict(size=frame_size))
test_dataloader = val_dataloader
