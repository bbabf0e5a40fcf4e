"""Never a silent nan from the motion models' fits: non-finite keypoints raise
a ValueError naming the model and the input, degenerate keypoints give a
documented result or a clear error, and an overflowing CPAB warp is named
before NonFiniteLossHook stops on the loss it poisons."""
import warnings

import pytest
import torch

import cpabmm.models.motion.base as motion_base
import cpabmm.models.motion.cpab_motion as cpab_motion
from cpabmm.engine import NonFiniteLossError, NonFiniteLossHook
from cpabmm.models.motion import AffineMotion, CPABMotion, TPSMotion
from cpabmm.ops.cpab import CPABOverflowWarning, checks, set_finite_checks


@pytest.fixture(autouse=True)
def fresh_check_state(monkeypatch):
    monkeypatch.setattr(checks, '_warned', set())
    monkeypatch.setattr(checks, '_every_device', False)


def make(name, **overrides):
    if name == 'TPSMotion':
        return TPSMotion(num_groups=2, points_per_group=5, **overrides)
    if name == 'AffineMotion':
        return AffineMotion(num_keypoints=10, **overrides)
    return CPABMotion(num_groups=2, points_per_group=5, partial_tess=(2, 2),
                      global_tess=(3, 3), backend='torch', **overrides)


def keypoints(batch=3, k=10, seed=0, device='cpu'):
    generator = torch.Generator().manual_seed(seed)
    driving = torch.rand(batch, k, 2, generator=generator) * 1.6 - 0.8
    source = driving + 0.05 * torch.randn(batch, k, 2, generator=generator)
    jacobian = torch.eye(2) + 0.1 * torch.randn(batch, k, 2, 2, generator=generator)
    return ({'value': source.to(device), 'jacobian': jacobian.to(device)},
            {'value': driving.to(device), 'jacobian': jacobian.clone().to(device)})


@pytest.mark.parametrize('model', ['TPSMotion', 'AffineMotion', 'CPABMotion'])
@pytest.mark.parametrize('which', ['kp_source', 'kp_driving'])
@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_non_finite_keypoints_raise_naming_the_model_and_the_input(model, which, value):
    kp_source, kp_driving = keypoints()
    {'kp_source': kp_source, 'kp_driving': kp_driving}[which]['value'][2, 7, 1] = value
    with pytest.raises(ValueError) as error:
        make(model).fit(kp_source, kp_driving)
    assert str(error.value).startswith(
        f"{model}.fit: {which}['value'] has non-finite values (nan or inf) in samples "
        '[2] of 3: ')
    assert '\n' not in str(error.value)


def test_affine_checks_the_jacobians_it_uses():
    kp_source, kp_driving = keypoints()
    kp_driving['jacobian'][0, 1, 0, 0] = float('nan')
    with pytest.raises(ValueError, match=r"^AffineMotion.fit: kp_driving\['jacobian'\] has "
                                         r'non-finite values \(nan or inf\) in samples \[0\]'):
        make('AffineMotion').fit(kp_source, kp_driving)
    params = make('AffineMotion', use_jacobian=False).fit(kp_source, kp_driving)
    assert torch.isfinite(make('AffineMotion').warp_points(params, torch.zeros(4, 2))).all()


def test_affine_singular_driving_jacobian_raises():
    kp_source, kp_driving = keypoints()
    kp_driving['jacobian'][1, 4] = torch.tensor([[1.0, 2.0], [0.5, 1.0]])   # rank 1
    with pytest.raises(ValueError, match=r"kp_driving\['jacobian'\] cannot be inverted for "
                                         r'\(sample, keypoint\) \[\(1, 4\)\] of \[3, 10\]'):
        make('AffineMotion').fit(kp_source, kp_driving)


def degenerate(kp_driving, case):
    """Group 0 of sample 0 made degenerate."""
    value = kp_driving['value']
    if case == 'coincident':
        value[0, :5] = torch.tensor([0.3, -0.2])
    elif case == 'collinear':
        value[0, :5, 1] = 0.1
    else:                                       # two keypoints repeated
        value[0, 1] = value[0, 0]


@pytest.mark.parametrize('case', ['coincident', 'collinear', 'repeated'])
def test_tps_degenerate_groups_are_finite_with_the_regulariser(case):
    kp_source, kp_driving = keypoints()
    degenerate(kp_driving, case)
    motion = make('TPSMotion')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        params = motion.fit(kp_source, kp_driving)
    grid = torch.rand(100, 2) * 2 - 1
    assert torch.isfinite(motion.warp_points(params, grid)).all()
    if case == 'coincident':
        # the point goes to (very nearly) the mean of the group's targets
        moved = motion.warp_points(params, kp_driving['value'][:, :1])[0, 0, 0]
        torch.testing.assert_close(moved, kp_source['value'][0, :5].mean(dim=0),
                                   atol=1e-3, rtol=0)


@pytest.mark.parametrize('case', ['coincident', 'repeated'])
def test_tps_without_regulariser_names_singular_groups(case):
    kp_source, kp_driving = keypoints()
    degenerate(kp_driving, case)
    with pytest.raises(ValueError, match=r'^TPSMotion.fit: the spline system is singular for '
                                         r'\(sample, group\) \[\(0, 0\)\] of \[3, 2\]: with '
                                         r'regularizer=0.0 .* use regularizer > 0'):
        make('TPSMotion', regularizer=0.0).fit(kp_source, kp_driving)


def test_tps_overflowing_solve_raises():
    kp_source, kp_driving = keypoints()
    kp_driving['value'][1] *= 1e20
    with pytest.raises(ValueError, match=r'TPSMotion.fit: the spline solve overflowed for '
                                         r'\(sample, group\) \[\(1, 0\), \(1, 1\)\] of \[3, 2\]'):
        make('TPSMotion').fit(kp_source, kp_driving)


@pytest.mark.parametrize('model', ['TPSMotion', 'AffineMotion', 'CPABMotion'])
def test_normal_fits_and_warps_warn_nothing(model):
    kp_source, kp_driving = keypoints()
    motion = make(model)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        warped = motion.warp(motion.fit(kp_source, kp_driving),
                             torch.rand(6, 6, 2) * 2 - 1)
    assert torch.isfinite(warped).all()


def test_cpab_unchecked_non_finite_keypoints_fall_back_to_the_identity(monkeypatch):
    """On a GPU without CPABMM_CHECK_FINITE=1 the keypoints are not checked
    (simulated here): CPABMotion's groups with nan use the identity, and the
    model reports that once."""
    messages = []
    monkeypatch.setattr(motion_base, 'has_nonfinite', lambda tensor: False)
    monkeypatch.setattr(cpab_motion, 'print_log', lambda msg, **kwargs: messages.append(msg))
    kp_source, kp_driving = keypoints()
    kp_driving['value'][1, 2, 0] = float('nan')
    motion = make('CPABMotion', use_global=False)
    params = motion.fit(kp_source, kp_driving)
    assert torch.equal(params['theta_partial'][1, 0], torch.zeros(motion.partial.dim))
    assert len(messages) == 1 and 'degenerate' in messages[0]


def test_overflowing_warp_is_named_before_the_loss_hook_stops():
    """Thetas that overflow (not from a fit: its thetas are bounded) give a
    non-finite warp, the op names the cause once, NonFiniteLossHook stops."""
    motion = make('CPABMotion')
    params = {'theta_partial': torch.full((1, 2, motion.partial.dim), 1e3),
              'theta_global': torch.zeros(1, motion.global_.dim)}
    with pytest.warns(CPABOverflowWarning, match='CPAB.transform overflowed') as record:
        loss = motion.warp(params, torch.rand(6, 6, 2) * 2 - 1).square().mean()
    assert len([w for w in record if w.category is CPABOverflowWarning]) == 1
    with pytest.raises(NonFiniteLossError, match='non-finite loss'):
        NonFiniteLossHook('stop')({'warp': loss})


@pytest.mark.parametrize('iterations', [(1, 2), (3, 3)])
def test_cpab_fast_solver_bounds_theta(iterations):
    """|theta| <= 4 (1 + iterations), far below the op's overflow (~1e3)."""
    kp_source, kp_driving = keypoints(seed=4)
    kp_source['value'] = kp_source['value'].flip(1)           # large, wild motion
    motion = make('CPABMotion', iterations=iterations)
    params = motion.fit(kp_source, kp_driving)
    assert params['theta_partial'].norm(dim=-1).max() <= 4 * (1 + iterations[0]) + 1e-4
    assert params['theta_global'].norm(dim=-1).max() <= 4 * (1 + iterations[1]) + 1e-4


@pytest.mark.cuda
@pytest.mark.parametrize('model', ['TPSMotion', 'AffineMotion', 'CPABMotion'])
def test_cuda_keypoints_checked_when_switched_on(model):
    kp_source, kp_driving = keypoints(device='cuda')
    kp_driving['value'][0, 0, 0] = float('nan')
    motion = make(model).cuda()
    previous = set_finite_checks(True)
    try:
        with pytest.raises(ValueError, match=rf"{model}.fit: kp_driving\['value'\] has "
                                             'non-finite'):
            motion.fit(kp_source, kp_driving)
    finally:
        set_finite_checks(previous)


@pytest.mark.parametrize('backend', ['torch', 'auto'])
def test_cpab_warp_checks_its_inputs_through_its_output(backend):
    """The warp calls the CPAB op without its input checks (issue #19), but a
    non-finite theta or point still raises the op's error, from the output."""
    motion = CPABMotion(num_groups=2, points_per_group=5, partial_tess=(2, 2),
                        global_tess=(3, 3), backend=backend)
    params = motion.fit(*keypoints())
    grid = torch.rand(6, 6, 2) * 2 - 1
    unchecked = motion.warp(params, grid)
    with torch.no_grad():
        checked = torch.cat([motion.partial.cpab.transform(
            params['theta_partial'].flatten(0, 1), (grid.view(-1, 2) + 1) / 2).view(3, 2, 6, 6, 2),
            motion.global_.cpab.transform(
            params['theta_global'], (grid.view(-1, 2) + 1) / 2).view(3, 1, 6, 6, 2)], dim=1)
    torch.testing.assert_close(unchecked, checked * 2 - 1)
    bad = dict(params, theta_global=params['theta_global'].clone())
    bad['theta_global'][1, 3] = float('nan')
    with pytest.raises(ValueError, match=r'^theta has non-finite values \(nan or inf\) in rows '
                                         r'\[1\] of 3'):
        motion.warp(bad, grid)
    grid[2, 4, 0] = float('inf')
    with pytest.raises(ValueError, match='^points have non-finite values'):
        motion.warp(params, grid)
