# TPSMM's second training stage on VoxCeleb 256 (official train_avd_params):
# the animation-via-disentanglement network learns to restore the driving
# keypoints from the source keypoints and randomly rescaled driving
# keypoints (each axis x U(0.75, 1.25); L1, weight 1); every other network is
# frozen (the keypoint detector runs in eval mode). Adam lr 1e-3, betas
# (0.5, 0.999), batch 256, 300 repeats, 200 epochs, lr x0.1 at 140 and 180.
# Starts from the first stage's final checkpoint: train that with
# tpsmm_k10_1xb28-100e_vox-256.py first, or point load_from elsewhere
# (--cfg-options load_from=PATH).
_base_ = ['./tpsmm_k10_1xb28-100e_vox-256.py']

load_from = 'work_dirs/tpsmm_k10_1xb28-100e_vox-256/epoch_100.pth'
model = dict(
    losses=dict(
        _delete_=True,
        avd=dict(type='AVDReconstructionTerm', weight=1., random_scale=0.25)))
optim_wrapper = dict(
    _delete_=True,
    constructor='ModuleOptimWrapperConstructor',
    avd=dict(modules=['avd'], optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))))
train_dataloader = dict(batch_size=256, dataset=dict(times=300))
train_cfg = dict(max_epochs=200)
param_scheduler = dict(milestones=[140, 180])
# The reconstruction protocol does not use the AVD network: no validation.
val_dataloader = None
val_cfg = None
val_evaluator = None
