"""Every loss and backbone builds from a config in the cpabmm scope."""
import pytest
import torch
from mmengine.registry import init_default_scope

import cpabmm.models.backbones  # noqa: F401  (registers the backbones)
import cpabmm.models.losses  # noqa: F401  (registers the losses)
from cpabmm.registry import MODELS

TINY_VIT = dict(type='DINOViT', pretrained=False, patch_size=8, embed_dim=32, depth=1,
                num_heads=2, train_size=32)
TINY_SAM = dict(type='SAMImageEncoder', pretrained=False,
                arch=dict(img_size=64, embed_dim=32, depth=1, num_heads=2, global_attn_indexes=(0,),
                          window_size=2, out_chans=16))

CONFIGS = [
    dict(type='PerceptualPyramidLoss', backbone=dict(type='VGG19', pretrained=False)),
    dict(type='ReconstructionPyramidLoss'),
    dict(type='EquivarianceLoss', jacobian_weight=10.),
    dict(type='WarpLoss'),
    dict(type='BackgroundCycleLoss'),
    dict(type='AdversarialLoss'),
    dict(type='StructureAlignmentLoss', backbone=TINY_VIT),
    dict(type='KeypointSemanticLoss', encoder=TINY_SAM, cache=dict(max_bytes=2 ** 20)),
]


@pytest.mark.parametrize('config', CONFIGS, ids=lambda c: c['type'])
def test_builds_in_the_cpabmm_scope(config):
    init_default_scope('cpabmm')
    loss = MODELS.build(dict(config))
    assert isinstance(loss, torch.nn.Module)
    assert type(loss).__module__.startswith('cpabmm.models.losses')


def test_frozen_backbones_stay_out_of_a_parent_checkpoint():
    init_default_scope('cpabmm')
    losses = torch.nn.ModuleDict({
        'perceptual': MODELS.build(CONFIGS[0]), 'structure': MODELS.build(CONFIGS[6]),
        'semantic': MODELS.build(CONFIGS[7]), 'adversarial': MODELS.build(CONFIGS[5])})
    keys = set(losses.state_dict())
    assert keys and all(key.startswith('adversarial.discriminator.') for key in keys)
