"""FOMM's discriminator converts into our adversarial loss; official MGif
checkpoints load for inference with or without it, and for training with it."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from cpabmm.apis import init_model
from cpabmm.checkpoint import load_model_weights, official_format
from cpabmm.checkpoint.official import FOMM_DISCRIMINATOR
from cpabmm.models.losses.adversarial import MultiScaleDiscriminator, scale_key
from cpabmm.registry import MODELS
from tests.tools.loading import REPO, load_tool
from .official_layout import (OfficialMultiScaleDiscriminator, mgif_official_checkpoint,
                              official_discriminator_state)

MGIF = osp.join(REPO, 'configs', 'fomm', 'fomm_k10-adv_1xb36-100e_mgif-256.py')
DISCRIMINATOR = f'{FOMM_DISCRIMINATOR}.'


def ours_from_official(params, state):
    """Our discriminator of the same widths with the converted ``state``."""
    ours = MultiScaleDiscriminator(
        scales=params['scales'], block_expansion=params['block_expansion'],
        max_features=params['max_features'], num_blocks=params['num_blocks'],
        spectral_norm=params['sn'])
    converted = official_format('fomm').convert_state_dict(state)
    ours.load_state_dict({key[len(DISCRIMINATOR):]: value for key, value in converted.items()},
                         strict=True)
    return ours


def official_from_state(params, state):
    official = OfficialMultiScaleDiscriminator(**params)
    official.load_state_dict({key[len('discriminator.'):]: value
                              for key, value in state.items()}, strict=True)
    return official


def assert_same_outputs(ours, official, scale, tol=1e-6):
    image = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected_features, expected = official.discs[str(scale).replace('.', '-')](image)
        features, prediction = ours.discs[scale_key(scale)](image)
    torch.testing.assert_close(prediction, expected, atol=tol, rtol=tol)
    for feature, expected_feature in zip(features, expected_features, strict=True):
        torch.testing.assert_close(feature, expected_feature, atol=tol, rtol=tol)


@pytest.mark.parametrize('params', [
    dict(scales=[1], block_expansion=32, max_features=512, num_blocks=4, sn=True),
    dict(scales=[1, 0.5], block_expansion=16, max_features=64, num_blocks=3, sn=False),
    dict(scales=[1.0], block_expansion=8, max_features=32, num_blocks=2, sn=True),
], ids=['mgif-spectral-norm', 'two-scales', 'scale-1.0'])
def test_converted_discriminator_gives_the_official_outputs(params):
    """In eval mode (spectral norm from the stored u, v) and in training mode
    (one power iteration updates u and v first), scale by scale."""
    state = official_discriminator_state(**params)
    ours, official = ours_from_official(params, state), official_from_state(params, state)
    for mode in ('eval', 'train'):
        getattr(ours, mode)(), getattr(official, mode)()
        for scale in params['scales']:
            assert_same_outputs(ours, official, scale)
    if params['sn']:  # the power iteration left u and v equal on both sides
        official_state = {f'discriminator.{k}': v for k, v in official.state_dict().items()}
        converted = official_format('fomm').convert_state_dict(official_state)
        for key, value in ours.state_dict().items():
            torch.testing.assert_close(value, converted[DISCRIMINATOR + key])


def test_spectral_norm_saved_by_old_pytorch_is_upgraded():
    """PyTorch < 1.0 stored ``weight`` (the normalised weight) instead of
    ``weight_v``: the converter derives ``weight_v`` as PyTorch's loader does,
    and the discriminator's outputs in eval mode are the official ones."""
    params = dict(scales=[1], block_expansion=16, max_features=64, num_blocks=3, sn=True)
    state = official_discriminator_state(**params)
    official = official_from_state(params, state).eval()
    legacy = copy.copy(state)
    for key in [key for key in state if key.endswith('.weight_v')]:
        weight = key[:-len('_v')]
        matrix = state[f'{weight}_orig'].flatten(1)
        sigma = state[f'{weight}_u'] @ matrix @ legacy.pop(key)
        legacy[weight] = state[f'{weight}_orig'] / sigma
    ours = ours_from_official(params, legacy).eval()
    assert_same_outputs(ours, official, 1, tol=1e-4)


# ------------------------------------------------------------ official MGif files
@pytest.fixture(scope='module')
def converted(fixtures_dir, tmp_path_factory):
    """Official MGif checkpoints with and without the discriminator (in the
    pre-1.6 format of the released files), converted by the tool."""
    root = tmp_path_factory.mktemp('mgif')
    tool = load_tool('convert_checkpoint')
    files = {}
    for name, discriminator in (('with', True), ('without', False)):
        official = mgif_official_checkpoint(fixtures_dir, discriminator)
        src, dst = root / f'mgif-{name}.pth.tar', root / f'mgif-{name}.pth'
        torch.save(official, src, _use_new_zipfile_serialization=False)
        assert tool.main([str(src), str(dst), '--model', 'fomm']) == 0
        files[name] = (official, str(dst))
    return files


def discriminator_weights(model):
    return {key[len('losses.adversarial.'):]: value for key, value in model.state_dict().items()
            if key.startswith('losses.adversarial.')}


def official_discriminator_weights(official):
    state = {f'discriminator.{key}': value for key, value in official['discriminator'].items()}
    return {key[len('losses.adversarial.'):]: value for key, value in
            official_format('fomm').convert_state_dict(state).items()}


def assert_weights(actual, expected):
    assert actual.keys() == expected.keys()
    for key in expected:
        torch.testing.assert_close(actual[key], expected[key], rtol=0, atol=0, msg=key)


def fresh_model():
    init_default_scope('cpabmm')
    return MODELS.build(Config.fromfile(MGIF).model)


def test_mgif_with_discriminator_loads_for_inference(converted):
    official, path = converted['with']
    model = init_model(MGIF, path)
    assert_weights(discriminator_weights(model), official_discriminator_weights(official))
    torch.testing.assert_close(model.state_dict()['generator.head.weight'],
                               official['generator']['final.weight'], rtol=0, atol=0)


def test_mgif_with_discriminator_loads_for_training(converted, tmp_path):
    """Both training paths: ``load_model_weights(..., training=True)`` and
    MMEngine's ``load_from`` (the runner's loading, through our scheme)."""
    official, path = converted['with']
    expected = official_discriminator_weights(official)
    model = fresh_model()
    load_model_weights(model, path, training=True)
    assert_weights(discriminator_weights(model), expected)

    cfg = Config.fromfile(MGIF)
    cfg.work_dir, cfg.load_from = str(tmp_path / 'work'), path
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    assert_weights(discriminator_weights(runner.model), expected)


def test_mgif_without_discriminator(converted, tmp_path, capsys):
    """Inference needs no discriminator. Training does: ``load_model_weights``
    for training says so in one line; MMEngine's ``load_from`` loads
    non-strictly, so the discriminator keeps its initial values (and
    MMEngine's warning lists its keys) while every other weight arrives."""
    official, path = converted['without']
    model = init_model(MGIF, path)
    torch.testing.assert_close(model.state_dict()['generator.head.weight'],
                               official['generator']['final.weight'], rtol=0, atol=0)

    with pytest.raises(ValueError) as error:
        load_model_weights(fresh_model(), path, training=True)
    message = str(error.value)
    assert '\n' not in message
    assert f'{path} has no weights for losses.adversarial, which training needs' in message

    cfg = Config.fromfile(MGIF)
    cfg.work_dir, cfg.load_from = str(tmp_path / 'work'), path
    runner = Runner.from_cfg(cfg)
    initial = copy.deepcopy(discriminator_weights(runner.model))
    capsys.readouterr()
    runner.load_or_resume()
    assert 'missing keys in source state_dict: losses.adversarial.' in capsys.readouterr().out
    assert_weights(discriminator_weights(runner.model), initial)
    torch.testing.assert_close(runner.model.state_dict()['generator.head.weight'],
                               official['generator']['final.weight'], rtol=0, atol=0)


def test_inference_still_names_missing_inference_keys(converted, tmp_path):
    checkpoint = torch.load(converted['without'][1], weights_only=True)
    del checkpoint['state_dict']['generator.head.weight']
    torch.save(checkpoint, tmp_path / 'partial.pth')
    with pytest.raises(ValueError, match=r'1 missing keys: generator\.head\.weight$'):
        init_model(MGIF, str(tmp_path / 'partial.pth'))
