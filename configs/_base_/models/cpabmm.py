# CPABMM (AAAI 2024): TPSMM with the CPAB motion model (K partial
# transformations on a 4x4 tessellation, one for each group of 5 keypoints,
# plus one global transformation on 6x6). The dense motion network sizes
# itself for N = K + 1 transformations plus the background.
# solver='fast' is our keypoint-to-CPAB solver; solver='adam' runs the
# published per-frame Adam loop (for reproducing the paper).
# Training adds CPABMM's two losses to TPSMM's: the SAM keypoint semantic
# loss (weight 1; SAM ViT-B image encoder from the torch hub cache, features
# cached per frame) and the DINO ViT-B/8 structure alignment loss (weight
# 0.1); both read their weight files at the first training step
# (docs/losses.md says where to put them). Adam lr 1e-4.
_base_ = ['./tpsmm.py']

model = dict(
    motion=dict(type='CPABMotion', solver='fast'),
    losses=dict(
        keypoint_semantic=dict(type='KeypointSemanticTerm',
                               loss=dict(type='KeypointSemanticLoss')),
        structure=dict(type='ImageLossTerm', loss=dict(type='StructureAlignmentLoss'))))
optim_wrapper = dict(
    generator=dict(optimizer=dict(lr=1e-4)), background=dict(optimizer=dict(lr=1e-4)))
