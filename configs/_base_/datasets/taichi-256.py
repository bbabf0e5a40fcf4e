# TaiChiHD bodies at 256x256, in the layout prepared by the FOMM and TPSMM
# authors: data/taichi/{train,test}/<id>#<clip>.mp4 (or a frame folder / PNG
# strip per clip). Same augmentation as VoxCeleb; 150 repeats per epoch.
_base_ = './vox-256.py'

data_root = 'data/taichi'

train_dataloader = dict(dataset=dict(times=150, dataset=dict(data_root=data_root)))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
# No bundled landmark detector fits bodies (the papers use 18 OpenPose joints): AKD is
# skipped unless `metrics` lists it with a registered detector.
test_evaluator = dict(default_set='no_landmarks')
animation_dataset = dict(data_root=data_root)
