"""Relative motion (cross-identity animation): hand-computed keypoint cases,
and the official FOMM/TPSMM demos' relative animations (fixtures)."""
import pytest
import torch

from cpabmm.models.keypoints.relative_motion import hull_area, movement_scale, relative_keypoints

SQUARE = torch.tensor([[0., 0.], [1., 0.], [1., 1.], [0., 1.], [0.5, 0.5]])


def test_hull_area_of_a_unit_square_with_an_inner_point():
    assert hull_area(SQUARE.numpy()) == pytest.approx(1.0)


def test_hull_area_of_collinear_points_is_zero():
    assert hull_area(torch.tensor([[0., 0.], [1., 1.], [2., 2.]]).numpy()) == 0.0


def test_displacement_is_scaled_by_the_square_root_of_the_area_ratio():
    initial = (SQUARE * 0.2)[None]                      # area 0.04
    source = (SQUARE * 0.6 - 0.3)[None]                 # area 0.36: scale 3
    delta = torch.tensor([0.01, -0.02])
    driving = initial + delta
    result = relative_keypoints({'value': source}, {'value': driving}, {'value': initial})
    torch.testing.assert_close(result['value'], source + 3 * delta)
    unscaled = relative_keypoints({'value': source}, {'value': driving}, {'value': initial},
                                  adapt_scale=False)
    torch.testing.assert_close(unscaled['value'], source + delta)


def test_scale_is_per_sample_and_one_for_degenerate_hulls():
    initial = torch.stack([SQUARE * 0.5, torch.tensor([[0., 0.], [.1, .1], [.2, .2],
                                                         [.3, .3], [.4, .4]])])
    source = torch.stack([SQUARE, SQUARE])
    torch.testing.assert_close(movement_scale(source, initial), torch.tensor([2.0, 1.0]))


def test_a_batch_of_one_source_broadcasts_against_a_driving_batch():
    """One source and initial frame against three driving frames: each
    driving frame gets what it would get alone."""
    generator = torch.Generator().manual_seed(1)
    initial = (SQUARE * 0.2)[None]
    source = (SQUARE * 0.4)[None]                       # scale 2
    driving = initial + 0.05 * torch.randn(3, 5, 2, generator=generator)
    jac = lambda b: torch.eye(2) + 0.2 * torch.randn(b, 5, 2, 2, generator=generator)  # noqa: E731
    kp_source, kp_initial = {'value': source, 'jacobian': jac(1)}, {'value': initial,
                                                                     'jacobian': jac(1)}
    kp_driving = {'value': driving, 'jacobian': jac(3)}
    result = relative_keypoints(kp_source, kp_driving, kp_initial)
    assert result['value'].shape == (3, 5, 2) and result['jacobian'].shape == (3, 5, 2, 2)
    torch.testing.assert_close(result['value'], source + 2 * (driving - initial))
    for b in range(3):
        alone = relative_keypoints(kp_source, {k: v[b:b + 1] for k, v in kp_driving.items()},
                                   kp_initial)
        torch.testing.assert_close(result['jacobian'][b:b + 1], alone['jacobian'])


def test_a_known_scale_replaces_the_hulls():
    initial, source = (SQUARE * 0.2)[None], (SQUARE * 0.6)[None]
    delta = torch.tensor([0.01, -0.02])
    result = relative_keypoints({'value': source}, {'value': initial + delta}, {'value': initial},
                                scale=torch.tensor([0.5]))
    torch.testing.assert_close(result['value'], source + 0.5 * delta)


def test_batches_that_do_not_broadcast_are_refused():
    with pytest.raises(ValueError, match='do not broadcast'):
        movement_scale(torch.stack([SQUARE] * 2), torch.stack([SQUARE] * 3))


def test_degenerate_hulls_are_logged():
    from tests.apis.clips import captured_log
    line = torch.tensor([[[0., 0.], [.1, .1], [.2, .2]]])
    with captured_log() as log:
        assert movement_scale(line, line).item() == 1.0
    assert 'span no area' in log.getvalue()


def test_jacobians_compose_relative_to_the_initial_frame():
    generator = torch.Generator().manual_seed(0)
    eye = torch.eye(2).expand(1, 5, 2, 2)
    jac_source = eye + 0.3 * torch.randn(1, 5, 2, 2, generator=generator)
    jac_initial = eye + 0.3 * torch.randn(1, 5, 2, 2, generator=generator)
    angle = torch.tensor(0.4)
    rotation = torch.tensor([[angle.cos(), -angle.sin()], [angle.sin(), angle.cos()]])
    kp = {'value': SQUARE[None]}
    result = relative_keypoints(
        {**kp, 'jacobian': jac_source}, {**kp, 'jacobian': rotation @ jac_initial},
        {**kp, 'jacobian': jac_initial})
    # The driving Jacobians turned by R since the initial frame turn the
    # source's by R; unmoved driving keypoints leave the source's in place.
    torch.testing.assert_close(result['jacobian'], rotation @ jac_source)
    torch.testing.assert_close(result['value'], SQUARE[None])


@pytest.mark.slow
@pytest.mark.parametrize('name,config,official', [
    ('tpsmm_vox-256.pt', '_base_/models/tpsmm.py', 'tpsmm'),
    ('fomm_vox-256.pt', '_base_/models/fomm.py', 'fomm'),
])
def test_relative_animation_reproduces_the_official_demo(fixtures_dir, name, config,
                                                         official):
    """``ImageAnimator.predict`` with the initial driving frame reproduces the
    official demos' relative mode (frame 0 as the initial driving frame, no
    background transform; FOMM with relative Jacobians and adapted scale)."""
    from ..test_official_fixtures import assert_mean_close, load_fixture_model
    model, fixture = load_fixture_model(fixtures_dir, name, config, official)
    driving = fixture['driving']
    count = driving.shape[0]
    inputs = dict(source=fixture['source'].expand(count, -1, -1, -1), driving=driving,
                  driving_initial=driving[:1].expand(count, -1, -1, -1))
    with torch.no_grad():
        results = model(inputs, mode='predict')
    prediction = torch.stack([r['prediction'] for r in results])
    assert_mean_close(prediction, fixture['animation_relative'])
