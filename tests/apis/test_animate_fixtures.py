"""``animate`` reproduces the published demos' outputs (the fixtures).

The fixtures hold what the original FOMM and TPSMM demo code produced, with
weights set by a recipe, for a source image and three driving frames (frame
0 the initial one): standard, relative and (TPSMM) AVD animations. We build
the same weights in the official layout, convert and load them, and animate
the same images; end to end, about 1e-3 mean absolute difference is the
noise floor of these random-weight networks (fixtures/README.md).
"""
import pytest
import torch

from cpabmm.apis import animate
from tests.models.test_official_fixtures import assert_mean_close, load_fixture_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def tpsmm(fixtures_dir):
    return load_fixture_model(fixtures_dir, 'tpsmm_vox-256.pt', '_base_/models/tpsmm.py',
                              'tpsmm')


@pytest.fixture(scope='module')
def fomm(fixtures_dir):
    return load_fixture_model(fixtures_dir, 'fomm_vox-256.pt', '_base_/models/fomm.py',
                              'fomm')


def animation(model, fixture, mode, **kwargs):
    frames = animate(model, fixture['source'], fixture['driving'], mode=mode,
                     output='tensor', **kwargs)
    return torch.stack(list(frames))


@pytest.mark.parametrize('mode,batch_size', [('standard', 1), ('relative', 1), ('avd', 3)])
def test_tpsmm_demo(tpsmm, mode, batch_size):
    model, fixture = tpsmm
    assert_mean_close(animation(model, fixture, mode, batch_size=batch_size),
                      fixture[f'animation_{mode}'])


@pytest.mark.parametrize('mode', ['standard', 'relative'])
def test_fomm_demo(fomm, mode):
    """Relative mode moves FOMM's Jacobians too and adapts the scale."""
    model, fixture = fomm
    assert_mean_close(animation(model, fixture, mode), fixture[f'animation_{mode}'])


def test_relative_mode_differs_from_standard(tpsmm):
    """The fixture modes are far apart, so the comparisons above can fail."""
    _, fixture = tpsmm
    gap = (fixture['animation_relative'] - fixture['animation_standard']).abs().mean()
    assert gap > 1e-2
