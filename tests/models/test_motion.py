"""The affine (FOMM) and thin-plate spline (TPSMM) motion models."""
import numpy as np
import pytest
import torch
from scipy.interpolate import RBFInterpolator

from cpabmm.models.layers import coordinate_grid
from cpabmm.models.motion import AffineMotion, BaseMotion, TPSMotion
from cpabmm.registry import MODELS


def random_keypoints(batch, k, seed, scale=0.8, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, k, 2, generator=generator, dtype=dtype) * 2 - 1) * scale


def random_jacobians(batch, k, seed, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    noise = 0.3 * torch.randn(batch, k, 2, 2, generator=generator, dtype=dtype)
    return torch.eye(2, dtype=dtype) + noise


@pytest.mark.parametrize('name', ['AffineMotion', 'TPSMotion'])
def test_registered_and_follow_the_interface(name):
    motion = MODELS.build(dict(type=name))
    assert isinstance(motion, BaseMotion)
    assert motion.num_transforms == 10
    kp_s = {'value': random_keypoints(2, motion.num_keypoints, 0, dtype=torch.float32),
            'jacobian': random_jacobians(2, motion.num_keypoints, 1, dtype=torch.float32)}
    kp_d = {'value': random_keypoints(2, motion.num_keypoints, 2, dtype=torch.float32),
            'jacobian': random_jacobians(2, motion.num_keypoints, 3, dtype=torch.float32)}
    params = motion.fit(kp_s, kp_d)
    assert all(isinstance(v, torch.Tensor) for v in params.values())
    grid = coordinate_grid((6, 7))
    warped = motion.warp(params, grid)
    assert warped.shape == (2, 10, 6, 7, 2)
    points = grid.reshape(1, 42, 2).expand(2, 42, 2)
    torch.testing.assert_close(motion.warp_points(params, points), warped.view(2, 10, 42, 2))
    # a shared [P, 2] point set is the same as the batch-expanded one
    torch.testing.assert_close(motion.warp_points(params, points[0]), warped.view(2, 10, 42, 2))


class TestTPSMotion:

    def test_without_regularizer_matches_an_independent_tps_solver(self):
        """scipy's thin-plate RBF (r^2 log r, linear polynomial) is the same
        interpolant: our kernel r^2 log r^2 only doubles the weights."""
        motion = TPSMotion(num_groups=3, points_per_group=5, regularizer=0.0)
        kp_d = random_keypoints(2, 15, 0)
        kp_s = kp_d + 0.2 * random_keypoints(2, 15, 1)
        params = motion.fit({'value': kp_s}, {'value': kp_d})
        queries = random_keypoints(2, 40, 2, scale=1.0)
        warped = motion.warp_points(params, queries).numpy()
        for b in range(2):
            for k in range(3):
                group = slice(5 * k, 5 * k + 5)
                reference = RBFInterpolator(kp_d[b, group].numpy(), kp_s[b, group].numpy(),
                                            kernel='thin_plate_spline', degree=1)
                np.testing.assert_allclose(warped[b, k], reference(queries[b].numpy()),
                                           atol=1e-6)

    def test_interpolates_its_control_points_up_to_the_regularizer(self):
        kp_d = random_keypoints(4, 50, 3)
        kp_s = kp_d + 0.15 * random_keypoints(4, 50, 4)
        errors = []
        for regularizer in (0.0, 1e-3, 1e-2):
            motion = TPSMotion(regularizer=regularizer)
            params = motion.fit({'value': kp_s}, {'value': kp_d})
            warped = motion.warp_points(params, kp_d)  # [B, K, 50, 2]
            own = torch.stack([warped[:, k, 5 * k:5 * k + 5] for k in range(10)], dim=1)
            errors.append((own - kp_s.view(4, 10, 5, 2)).norm(dim=-1).max().item())
        assert errors[0] < 1e-9
        assert 0 < errors[1] < errors[2] < 0.1

    def test_reproduces_an_affine_map_exactly_without_regularizer(self):
        matrix = torch.tensor([[0.9, -0.2], [0.3, 1.1]], dtype=torch.float64)
        shift = torch.tensor([0.05, -0.1], dtype=torch.float64)
        kp_d = random_keypoints(1, 50, 5)
        kp_s = kp_d @ matrix.T + shift
        motion = TPSMotion(regularizer=0.0)
        params = motion.fit({'value': kp_s}, {'value': kp_d})
        grid = coordinate_grid((9, 9), torch.float64)
        expected = grid @ matrix.T + shift
        warped = motion.warp(params, grid)
        torch.testing.assert_close(warped, expected.expand_as(warped), atol=1e-9, rtol=0)

    def test_wrong_number_of_keypoints_is_a_clear_error(self):
        kp = {'value': torch.zeros(1, 10, 2)}
        with pytest.raises(ValueError, match=r'needs kp_source of shape \[B, 50, 2\]'):
            TPSMotion().fit(kp, kp)


class TestAffineMotion:

    def test_maps_driving_keypoints_onto_source_keypoints(self):
        motion = AffineMotion(num_keypoints=10)
        kp_s = {'value': random_keypoints(3, 10, 0), 'jacobian': random_jacobians(3, 10, 1)}
        kp_d = {'value': random_keypoints(3, 10, 2), 'jacobian': random_jacobians(3, 10, 3)}
        warped = motion.warp_points(motion.fit(kp_s, kp_d), kp_d['value'])
        own = torch.diagonal(warped, dim1=1, dim2=2).permute(0, 2, 1)  # map k at kp_d,k
        torch.testing.assert_close(own, kp_s['value'], atol=1e-12, rtol=0)

    def test_local_jacobian_is_source_times_inverse_driving(self):
        """Finite differences of the warp against J_s J_d^-1."""
        motion = AffineMotion(num_keypoints=4)
        kp_s = {'value': random_keypoints(1, 4, 0), 'jacobian': random_jacobians(1, 4, 1)}
        kp_d = {'value': random_keypoints(1, 4, 2), 'jacobian': random_jacobians(1, 4, 3)}
        params = motion.fit(kp_s, kp_d)
        point, step = torch.tensor([[0.1, -0.3]], dtype=torch.float64), 1e-6
        columns = []
        for axis in range(2):
            delta = torch.zeros(1, 2, dtype=torch.float64)
            delta[0, axis] = step
            diff = motion.warp_points(params, point + delta) - motion.warp_points(params, point - delta)
            columns.append(diff[0, :, 0] / (2 * step))
        numeric = torch.stack(columns, dim=-1)  # [K, 2, 2]
        expected = kp_s['jacobian'][0] @ torch.linalg.inv(kp_d['jacobian'][0])
        torch.testing.assert_close(numeric, expected, atol=1e-7, rtol=0)

    def test_without_jacobians_is_a_translation(self):
        motion = AffineMotion(num_keypoints=3, use_jacobian=False)
        kp_s, kp_d = {'value': random_keypoints(1, 3, 0)}, {'value': random_keypoints(1, 3, 1)}
        points = random_keypoints(1, 5, 2)
        warped = motion.warp_points(motion.fit(kp_s, kp_d), points)
        shift = (kp_s['value'] - kp_d['value'])[:, :, None]
        torch.testing.assert_close(warped, points[:, None] + shift)

    def test_missing_jacobian_is_a_clear_error(self):
        kp = {'value': torch.zeros(1, 10, 2)}
        with pytest.raises(ValueError, match="needs a 'jacobian' entry"):
            AffineMotion().fit(kp, kp)
