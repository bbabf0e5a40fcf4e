# The synthetic large-motion dataset at 256x256, the resolution of the
# published architectures (same videos and keypoints as synthetic-64).
_base_ = './synthetic-64.py'

frame_size = 256

train_dataloader = dict(batch_size=8, dataset=dict(size=frame_size))
val_dataloader = dict(dataset=dict(size=frame_size))
test_dataloader = val_dataloader
