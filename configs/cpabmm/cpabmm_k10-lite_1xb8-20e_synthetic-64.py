# The reduced-width TPSMM synthetic config (its networks, losses, data and
# schedule; a checkpoint small enough to bundle) with the CPAB motion model
# (fast solver): K = 10 partial CPAB transformations on 4x4 and one global
# on 6x6. Same learning rate as the TPSMM variant, so the two compare.
_base_ = ['../tpsmm/tpsmm_k10-lite_1xb8-20e_synthetic-64.py']

model = dict(motion=dict(type='CPABMotion', solver='fast'))
