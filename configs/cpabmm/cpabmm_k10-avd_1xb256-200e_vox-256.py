# CPABMM's second training stage on VoxCeleb 256: the AVD network of the
# TPSMM stage-2 config (same data, losses and schedule) on a CPABMM model,
# starting from the final checkpoint of cpabmm_k10_1xb8-100e_vox-256.py.
_base_ = ['../tpsmm/tpsmm_k10-avd_1xb256-200e_vox-256.py']

load_from = 'work_dirs/cpabmm_k10_1xb8-100e_vox-256/epoch_100.pth'
model = dict(motion=dict(type='CPABMotion', solver='fast'))
