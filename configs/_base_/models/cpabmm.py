# CPABMM (AAAI 2024): TPSMM with the CPAB motion model (K partial
# transformations on a 4x4 tessellation, one for each group of 5 keypoints,
# plus one global transformation on 6x6). The dense motion network sizes
# itself for N = K + 1 transformations plus the background.
# solver='fast' is our keypoint-to-CPAB solver; solver='adam' runs the
# published per-frame Adam loop (for reproducing the paper).
_base_ = ['./tpsmm.py']

model = dict(motion=dict(type='CPABMotion', solver='fast'))
optim_wrapper = dict(optimizer=dict(lr=1e-4))
