# The reduced-width CPABMM on the face-cropped carphone clip: the TPSMM
# carphone config (data preparation there) with the CPAB motion model.
_base_ = ['../tpsmm/tpsmm_k10-lite_1xb8-10e_carphone-64.py']

model = dict(motion=dict(type='CPABMotion', solver='fast'))
