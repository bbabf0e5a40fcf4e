"""CPABMotion: the fast keypoint-to-CPAB solver and the published Adam loop."""
import os.path as osp

import pytest
import torch

from cpabmm.models.motion import CPABMotion, cpab_motion
from cpabmm.registry import MODELS


@pytest.fixture(scope='module')
def keypoint_fit(fixtures_dir):
    return torch.load(osp.join(fixtures_dir, 'cpab_libcpab_seed0.pt'), weights_only=True)['keypoint_fit']


def fit_errors(motion, kp_source, kp_driving):
    """Mean Euclidean error ([-1, 1] units) of each transformation family at
    its own keypoints, and the fitted thetas."""
    params = motion.fit({'value': kp_source}, {'value': kp_driving})
    B, K, n = kp_source.shape[0], motion.num_groups, motion.points_per_group
    warped = motion.warp_points(params, kp_driving)                   # [B, K + 1, 50, 2]
    groups = warped[:, :K].reshape(B, K, K, n, 2)
    partial = torch.stack([groups[:, k, k] for k in range(K)], dim=1)  # own group only
    partial_error = (partial - kp_source.view(B, K, n, 2)).norm(dim=-1).mean()
    global_error = (warped[:, K] - kp_source).norm(dim=-1).mean()
    return partial_error.item(), global_error.item(), params


def test_fast_solver_beats_the_published_loop_on_the_fixture(keypoint_fit):
    motion = CPABMotion(backend='torch').double()
    kp_s, kp_d = keypoint_fit['kp_source'].double(), keypoint_fit['kp_driving'].double()
    partial_error, global_error, params = fit_errors(motion, kp_s, kp_d)
    assert partial_error <= keypoint_fit['partial']['mean_error']
    assert global_error <= keypoint_fit['global']['mean_error']
    # No overfitting: thetas no larger than the published loop's, in norm and
    # in prior energy.
    for name, theta, tess in (('partial', params['theta_partial'].flatten(0, 1), motion.partial),
                              ('global', params['theta_global'], motion.global_)):
        adam = keypoint_fit[name]['theta'].double()
        assert theta.norm(dim=1).mean() <= adam.norm(dim=1).mean()
        energy = torch.einsum('gd,de,ge->g', theta, tess.precision, theta).mean()
        adam_energy = torch.einsum('gd,de,ge->g', adam, tess.precision, adam).mean()
        assert energy <= adam_energy


def test_warps_are_smooth_diffeomorphisms(keypoint_fit):
    motion = CPABMotion(backend='torch').double()
    params = motion.fit({'value': keypoint_fit['kp_source'][:1].double()},
                        {'value': keypoint_fit['kp_driving'][:1].double()})
    size = 33
    axis = torch.linspace(-1, 1, size, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing='xy'), dim=-1)
    warped = motion.warp(params, grid)[0]                            # [N, h, w, 2]
    assert warped.shape == (motion.num_transforms, size, size, 2)
    dx = (warped[:, 1:-1, 2:] - warped[:, 1:-1, :-2])
    dy = (warped[:, 2:, 1:-1] - warped[:, :-2, 1:-1])
    determinant = (dx[..., 0] * dy[..., 1] - dx[..., 1] * dy[..., 0]) / (2 * 2 / (size - 1)) ** 2
    assert determinant.min() > 0.05 and determinant.max() < 20


def small_motion(**overrides):
    options = dict(num_groups=1, points_per_group=5, partial_tess=(2, 2), global_tess=(3, 3),
                   backend='torch')
    options.update(overrides)
    return CPABMotion(**options).double()


def test_gradients_to_keypoints_pass_gradcheck():
    motion = small_motion(use_global=True)
    generator = torch.Generator().manual_seed(3)
    kp_d = (torch.rand(1, 5, 2, generator=generator, dtype=torch.float64) * 1.4 - 0.7)
    kp_s = (kp_d + 0.15 * torch.randn(1, 5, 2, generator=generator, dtype=torch.float64))
    points = torch.rand(1, 4, 2, generator=generator, dtype=torch.float64) * 1.6 - 0.8

    def warped(source, driving):
        return motion.warp_points(motion.fit({'value': source}, {'value': driving}), points)

    assert torch.autograd.gradcheck(warped, (kp_s.requires_grad_(), kp_d.requires_grad_()),
                                    eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)


def test_detached_keypoints_get_no_gradient():
    motion = small_motion(detach_keypoints=True)
    kp = torch.rand(1, 5, 2, dtype=torch.float64, requires_grad=True)
    params = motion.fit({'value': kp}, {'value': kp * 0.9})
    assert not params['theta_partial'].requires_grad


def test_adam_solver_reproduces_the_published_loop_under_no_grad():
    motion = small_motion(solver='adam', adam_iterations=(60, 60), use_global=False)
    kp_d = torch.tensor([[[-0.5, -0.5], [0.5, -0.4], [0.4, 0.5], [-0.4, 0.3], [0.0, 0.1]]],
                        dtype=torch.float64)
    kp_s = kp_d + torch.tensor([0.08, -0.05], dtype=torch.float64)
    with torch.no_grad():
        params = motion.fit({'value': kp_s}, {'value': kp_d})
    error = (motion.warp_points(params, kp_d)[0, 0] - kp_s[0]).norm(dim=-1).mean()
    assert error < 0.5 * (kp_d - kp_s).norm(dim=-1).mean()
    fast = small_motion(use_global=False)
    fast_error = (fast.warp_points(fast.fit({'value': kp_s}, {'value': kp_d}), kp_d)[0, 0]
                  - kp_s[0]).norm(dim=-1).mean()
    assert fast_error <= error


@pytest.mark.parametrize('case', ['nan', 'inf', 'coincident', 'collinear', 'far'])
def test_degenerate_keypoints_give_finite_warps(case, monkeypatch):
    messages = []
    monkeypatch.setattr(cpab_motion, 'print_log', lambda msg, **kwargs: messages.append(msg))
    motion = small_motion()
    generator = torch.Generator().manual_seed(0)
    kp_d = torch.rand(2, 5, 2, generator=generator, dtype=torch.float64) - 0.5
    kp_s = kp_d + 0.1
    if case == 'nan':
        kp_d[0, 2, 0] = float('nan')
    elif case == 'inf':
        kp_s[1, 0, 1] = float('inf')
    elif case == 'coincident':
        kp_d[0, :] = 0.2                           # one driving point, five targets
    elif case == 'collinear':
        kp_d[0, :, 1] = 0.0
    else:
        kp_d[1] = kp_d[1] * 1e4
    params = motion.fit({'value': kp_s}, {'value': kp_d})
    grid = torch.rand(50, 2, dtype=torch.float64) * 2 - 1
    assert torch.isfinite(motion.warp_points(params, grid)).all()
    if case in ('nan', 'inf', 'far'):
        assert len(messages) == 1 and 'degenerate' in messages[0]
    motion.fit({'value': kp_s}, {'value': kp_d})
    assert len(messages) <= 1      # reported once per model, not per call


def test_registered_and_interface():
    motion = MODELS.build(dict(type='CPABMotion', num_groups=2, backend='torch'))
    assert motion.num_keypoints == 10 and motion.num_transforms == 3
    kp = {'value': torch.rand(3, 10, 2) * 2 - 1}
    params = motion.fit(kp, kp)
    assert params['theta_partial'].shape == (3, 2, 58)
    assert params['theta_global'].shape == (3, 130)
    grid = torch.stack(torch.meshgrid(torch.linspace(-1, 1, 8), torch.linspace(-1, 1, 8),
                                      indexing='xy'), dim=-1)
    warped = motion.warp(params, grid)
    assert warped.shape == (3, 3, 8, 8, 2)
    # The same keypoints on both sides: every transformation is the identity.
    torch.testing.assert_close(warped, grid.expand_as(warped), atol=2e-3, rtol=0)
    with pytest.raises(ValueError, match='solver must be one of'):
        CPABMotion(solver='lbfgs')
    with pytest.raises(ValueError, match=r'shape \[B, 10, 2\]'):
        motion.fit({'value': torch.rand(1, 9, 2)}, {'value': torch.rand(1, 9, 2)})
