"""Official FOMM and TPSMM weights reproduce the original outputs.

The fixtures (``../shared/fixtures/{tpsmm,fomm}_vox-256.pt``) hold the
outputs of the original code with weights set by a recipe; we build the same
weights in the official layout, convert them with our converter, load them
into the models of our 256x256 model configs (those of the VoxCeleb
configs) and compare **stage by stage**, each
stage fed the fixture's own inputs (these random-weight networks amplify
float32 rounding, see fixtures/README.md), then end to end.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from cpabmm.models.converters import convert_official_state_dict
from cpabmm.models.state_dict import load_state_dict_checked
from cpabmm.registry import MODELS
from .official_weights import official_state_dict

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')
STAGE_TOL = 1e-4
END_TO_END_MEAN_TOL = 1e-3
FRAME = 1  # "driving frame 1" of the fixtures


def load_fixture_model(fixtures_dir, name, config, official):
    fixture = torch.load(osp.join(fixtures_dir, name), weights_only=True)
    init_default_scope('cpabmm')
    model = MODELS.build(Config.fromfile(osp.join(CONFIGS, config)).model).eval()
    state_dict = convert_official_state_dict(
        official_state_dict(fixture['state_dict_shapes']), official)
    load_state_dict_checked(model, state_dict)
    return model, fixture


def assert_close(actual, expected, tol=STAGE_TOL):
    assert actual.shape == expected.shape
    error = (actual - expected).abs().max().item()
    assert error < tol, f'max abs difference {error:.3g} >= {tol}'


def assert_mean_close(actual, expected, tol=END_TO_END_MEAN_TOL):
    assert actual.shape == expected.shape
    error = (actual - expected).abs().mean().item()
    assert error < tol, f'mean abs difference {error:.3g} >= {tol}'


@pytest.fixture(scope='module')
def tpsmm(fixtures_dir):
    """The TPSMM model with converted recipe weights and each stage's
    output computed once from the fixture's inputs."""
    model, fixture = load_fixture_model(
            fixtures_dir, 'tpsmm_vox-256.pt', '_base_/models/tpsmm.py', 'tpsmm')
    inputs = dict(source=fixture['source'], driving=fixture['driving'][FRAME:FRAME + 1])
    kp_source = {'value': fixture['kp_source']}
    kp_driving = {'value': fixture['kp_driving']}
    with torch.no_grad():
        keypoints = [model.detect_keypoints(inputs[k]) for k in ('source', 'driving')]
        background = model.background(inputs['source'], inputs['driving'])
        dense = model.dense_motion(inputs['source'], kp_source, kp_driving, model.motion,
                                   model.motion.fit(kp_source, kp_driving),
                                   bg_affine=fixture['bg_param'])
        generated = model.generator(inputs['source'], fixture['deformation'],
                                    fixture['occlusion_map'])
    return dict(model=model, fixture=fixture, inputs=inputs, keypoints=keypoints,
                background=background, dense=dense, generated=generated)


class TestTPSMM:

    @pytest.fixture
    def setup(self, tpsmm):
        return tpsmm

    def test_keypoints(self, setup):
        kp_source, kp_driving = setup['keypoints']
        assert_close(kp_source['value'], setup['fixture']['kp_source'])
        assert_close(kp_driving['value'], setup['fixture']['kp_driving'])

    def test_background_affine(self, setup):
        assert_close(setup['background'], setup['fixture']['bg_param'])

    def test_dense_motion(self, setup):
        dense, fixture = setup['dense'], setup['fixture']
        assert_close(dense['contribution_maps'], fixture['contribution_maps'])
        assert_close(dense['flow'], fixture['deformation'])
        assert len(dense['occlusion']) == 4
        for ours, theirs in zip(dense['occlusion'], fixture['occlusion_map']):
            assert_close(ours, theirs)

    def test_generator(self, setup):
        assert_close(setup['generated']['prediction'], setup['fixture']['prediction'])

    @pytest.mark.slow
    def test_end_to_end(self, setup):
        """Images in, images out, in one batch of two: the reconstruction
        path (with the background affine) and the official demo's AVD mode
        (no background; driving keypoints through the AVD network)."""
        model, fixture, inputs = setup['model'], setup['fixture'], setup['inputs']
        batch = {k: v.expand(2, -1, -1, -1) for k, v in inputs.items()}
        with torch.no_grad():
            kp_source, kp_driving = (model.detect_keypoints(batch[k]) for k in batch)
            kp_avd = model.avd(kp_source, kp_driving)
            kp_driving = {'value': torch.cat([kp_driving['value'][:1], kp_avd['value'][1:]])}
            identity = torch.eye(3).unsqueeze(0)
            bg_affine = torch.cat([model.background(inputs['source'], inputs['driving']),
                                   identity])
            out = model.animate(batch['source'], kp_source, kp_driving, bg_affine=bg_affine)
        assert_mean_close(out['prediction'][:1], fixture['prediction'])
        assert_mean_close(out['prediction'][1:], fixture['animation_avd'][FRAME:FRAME + 1])


@pytest.fixture(scope='module')
def fomm(fixtures_dir):
    """The FOMM model with converted recipe weights and each stage's output
    computed once from the fixture's inputs."""
    model, fixture = load_fixture_model(
            fixtures_dir, 'fomm_vox-256.pt', '_base_/models/fomm.py', 'fomm')
    inputs = dict(source=fixture['source'], driving=fixture['driving'][FRAME:FRAME + 1])
    kp_source = {'value': fixture['kp_source_value'], 'jacobian': fixture['kp_source_jacobian']}
    kp_driving = {'value': fixture['kp_driving_value'],
                  'jacobian': fixture['kp_driving_jacobian']}
    with torch.no_grad():
        keypoints = [model.detect_keypoints(inputs[k]) for k in ('source', 'driving')]
        dense = model.dense_motion(inputs['source'], kp_source, kp_driving, model.motion,
                                   model.motion.fit(kp_source, kp_driving))
        # the generator's inputs from the fixture: its contribution maps
        # weighting the sparse motions of the fixture keypoints
        flow = (dense['sparse_motions'] * fixture['mask'].unsqueeze(-1)).sum(dim=1)
        generated = model.generator(inputs['source'], flow, [fixture['occlusion_map']])
    return dict(model=model, fixture=fixture, inputs=inputs, keypoints=keypoints, dense=dense,
                generated=generated)


class TestFOMM:

    @pytest.fixture
    def setup(self, fomm):
        return fomm

    def test_keypoints_and_jacobians(self, setup):
        for kp, name in zip(setup['keypoints'], ('source', 'driving')):
            assert_close(kp['value'], setup['fixture'][f'kp_{name}_value'])
            assert_close(kp['jacobian'], setup['fixture'][f'kp_{name}_jacobian'])

    def test_dense_motion(self, setup):
        dense, fixture = setup['dense'], setup['fixture']
        assert_close(dense['deformed_source'], fixture['sparse_deformed'])
        assert_close(dense['contribution_maps'], fixture['mask'])
        assert len(dense['occlusion']) == 1
        assert_close(dense['occlusion'][0], fixture['occlusion_map'])

    def test_generator(self, setup):
        generated, fixture = setup['generated'], setup['fixture']
        assert_close(generated['deformed'], fixture['deformed'])
        assert_close(generated['prediction'], fixture['prediction'])

    @pytest.mark.slow
    def test_end_to_end(self, setup):
        """Driving frames 1 (the reconstruction outputs) and 2 (the official
        demo's standard mode) in one batch."""
        model, fixture = setup['model'], setup['fixture']
        inputs = dict(source=fixture['source'].expand(2, -1, -1, -1),
                      driving=fixture['driving'][1:3])
        with torch.no_grad():
            results = model(inputs, mode='predict', outputs=('deformed',))
        assert_mean_close(results[0]['prediction'][None], fixture['prediction'])
        assert_mean_close(results[0]['deformed'][None], fixture['deformed'])
        assert_mean_close(results[1]['prediction'][None], fixture['animation_standard'][2:3])
