"""The PyTorch reference integrator against libcpab's fixture, a dense ODE
solver and finite differences."""
import os.path as osp

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from cpabmm.ops.cpab import CPAB
from cpabmm.ops.cpab import reference as R


@pytest.fixture(scope='module')
def libcpab(fixtures_dir):
    return torch.load(osp.join(fixtures_dir, 'cpab_libcpab_seed0.pt'), weights_only=True)


def _fixture_case(libcpab, key, dtype):
    """Our CPAB, the fixture thetas mapped into our basis, points ``[P, 2]``."""
    case = libcpab[key]
    T = CPAB((case['nc'], case['nc']), backend='torch')
    A = case['thetas'].double() @ case['basis'].T          # A-vectors [9, D]
    theta = (A @ T.basis).to(dtype)                          # our basis is orthonormal
    return T, theta, case['points'].T.to(dtype), case


@pytest.mark.parametrize('key', ['tess4', 'tess6'])
def test_velocity_matches_libcpab(libcpab, key):
    T, theta, points, case = _fixture_case(libcpab, key, torch.float64)
    v = T.velocity(theta, points)
    expected = case['velocity'].permute(0, 2, 1).double()
    assert (v - expected).abs().max() < 1e-5


@pytest.mark.parametrize('key', ['tess4', 'tess6'])
@pytest.mark.parametrize('dtype, tol', [(torch.float64, 1e-6), (torch.float32, 1e-4)])
def test_transform_matches_exact_flow(libcpab, key, dtype, tol):
    """Against the fixture's exact flow, points outside the domain included
    (libcpab's own 50-step result is off by up to 3e-3)."""
    T, theta, points, case = _fixture_case(libcpab, key, dtype)
    out = T.transform(theta, points)
    assert out.dtype == dtype
    expected = case['transformed_exact'].permute(0, 2, 1)
    assert (out.double() - expected).abs().max() < tol
    outside = ((points < 0) | (points > 1)).any(1)
    assert outside.sum() > 50   # the comparison covers outside points


def _ode_reference(T: CPAB, theta: torch.Tensor, points: torch.Tensor) -> np.ndarray:
    """Dense adaptive ODE solve of dx/dt = v(x) with our velocity (for
    zero_boundary, that of the nearest domain point outside the domain)."""
    out = np.zeros((len(theta), len(points), 2))
    A = T.theta_to_A(theta)
    for i in range(len(theta)):
        def rhs(_, y, i=i):
            p = torch.from_numpy(y)[None]
            if T.zero_boundary:
                p = p.clamp(0, 1)
            return R.velocity(A[i:i + 1], p, T.nc)[0, 0].numpy()

        for p in range(len(points)):
            sol = solve_ivp(rhs, (0.0, 1.0), points[p].numpy(), method='DOP853',
                            rtol=1e-11, atol=1e-12)
            out[i, p] = sol.y[:, -1]
    return out


@pytest.mark.parametrize('nc, zero_boundary, volume_preservation',
                         [((3, 3), False, False), ((2, 3), True, False),
                          ((3, 3), False, True)])
def test_transform_matches_dense_ode_solver(nc, zero_boundary, volume_preservation):
    T = CPAB(nc, zero_boundary, volume_preservation, backend='torch')
    gen = torch.Generator().manual_seed(1)
    theta = T.sample_theta(2, length_scale=0.3, dtype=torch.float64, generator=gen)
    points = torch.rand(3, 2, generator=gen, dtype=torch.float64) * 1.4 - 0.2
    out = T.transform(theta, points).numpy()
    assert np.abs(out - _ode_reference(T, theta, points)).max() < 1e-7


def test_trajectories_cross_many_regions(libcpab):
    """The fixture's large thetas need many crossings; all finish."""
    T, theta, points, _ = _fixture_case(libcpab, 'tess4', torch.float64)
    _, stats = R.integrate(T.theta_to_A(theta), points, T.nc, return_stats=True)
    assert stats['unfinished'] == 0
    assert stats['iterations'] > 5


@pytest.mark.parametrize('zero_boundary, volume_preservation',
                         [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize('dtype, tol', [(torch.float64, 1e-9), (torch.float32, 2e-5)])
def test_inverse_is_minus_theta(zero_boundary, volume_preservation, dtype, tol):
    T = CPAB((4, 4), zero_boundary, volume_preservation, backend='torch')
    gen = torch.Generator().manual_seed(2)
    theta = T.sample_theta(3, output_variance=0.5, dtype=dtype, generator=gen)
    points = torch.rand(200, 2, generator=gen, dtype=dtype) * 1.4 - 0.2
    back = T.transform(-theta, T.transform(theta, points))
    assert (back - points).abs().max() < tol


def test_zero_theta_is_identity():
    T = CPAB((4, 4), backend='torch')
    points = torch.rand(50, 2, dtype=torch.float64) * 2 - 0.5
    theta = T.identity(2, dtype=torch.float64)
    assert torch.equal(T.transform(theta, points), points.expand(2, -1, -1))
    assert T.velocity(theta, points).abs().max() == 0


def test_zero_boundary_outside_moves_along_the_boundary():
    T = CPAB((3, 3), zero_boundary=True, backend='torch')
    theta = T.sample_theta(2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    below = torch.tensor([[0.3, -0.2], [0.7, -0.05]], dtype=torch.float64)
    corner = torch.tensor([[-0.1, 1.3], [1.2, -0.4]], dtype=torch.float64)
    v = T.velocity(theta, below)
    assert v[..., 1].abs().max() < 1e-12            # parallel to the boundary
    out = T.transform(theta, below)
    assert torch.allclose(out[..., 1], below[:, 1].expand(2, -1), atol=1e-12)
    assert torch.allclose(T.transform(theta, corner), corner.expand(2, -1, -1), atol=1e-12)


def _crossing_setup(zero_boundary: bool):
    """A small tessellation, thetas large enough that trajectories cross
    several triangles, and points inside and outside the domain."""
    T = CPAB((2, 2), zero_boundary, backend='torch')
    gen = torch.Generator().manual_seed(4)
    theta = T.sample_theta(2, length_scale=0.5, output_variance=1.5,
                           dtype=torch.float64, generator=gen)
    points = torch.tensor([[0.1, 0.2], [0.45, 0.55], [0.8, 0.3], [0.6, 0.9],
                           [-0.15, 0.4], [1.1, 1.2], [0.5, -0.2]], dtype=torch.float64)
    return T, theta, points


@pytest.mark.parametrize('zero_boundary', [False, True])
def test_gradcheck(zero_boundary):
    T, theta, points = _crossing_setup(zero_boundary)
    _, stats = R.integrate(T.theta_to_A(theta), points, T.nc, return_stats=True)
    assert stats['iterations'] >= 3     # trajectories do cross region boundaries
    theta.requires_grad_()
    points.requires_grad_()
    assert torch.autograd.gradcheck(T.transform, (theta, points), eps=1e-6,
                                    atol=1e-6, rtol=1e-5, fast_mode=True)


def test_gradcheck_per_point_batch():
    T, theta, points = _crossing_setup(False)
    points = (points[None] + 0.05 * torch.arange(2, dtype=torch.float64)[:, None, None])
    theta.requires_grad_()
    points.requires_grad_()
    assert torch.autograd.gradcheck(T.transform, (theta, points), eps=1e-6,
                                    atol=1e-6, rtol=1e-5, fast_mode=True)


def test_gradcheck_discontinuous_field():
    """The implicit crossing-time derivative keeps gradients exact where the
    field jumps (A from a zero_boundary basis, points outside, raw op)."""
    T = CPAB((2, 2), zero_boundary=True, backend='torch')
    theta = T.sample_theta(1, length_scale=0.5, dtype=torch.float64,
                           generator=torch.Generator().manual_seed(5))
    A = T.theta_to_A(theta).requires_grad_()
    points = torch.tensor([[-0.3, 0.45], [0.55, 1.2], [1.3, 0.2]],
                          dtype=torch.float64, requires_grad=True)
    _, stats = R.integrate(A.detach(), points.detach(), T.nc, return_stats=True)
    assert stats['unfinished'] == 0
    assert torch.autograd.gradcheck(lambda a, p: R.integrate(a, p, T.nc), (A, points),
                                     eps=1e-7, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize('key', ['tess4', 'tess6'])
def test_gradient_close_to_libcpab_50_steps(libcpab, key):
    """libcpab's 50-step gradient is a loose check (up to 2% off)."""
    T, theta, points, case = _fixture_case(libcpab, key, torch.float64)
    theta.requires_grad_()
    weights = case['grad_weights'].permute(0, 2, 1).double()
    (T.transform(theta, points) * weights).sum().backward()
    # d/d theta_fixture = basis_fixture^T basis_ours d/d theta_ours
    ours = theta.grad @ (T.basis.T @ case['basis'])
    expected = case['grad_theta_nstep50'].double()
    rel = (ours - expected).norm(dim=1) / expected.norm(dim=1)
    assert rel.max() < 0.025


def test_phi1_coefficients_match_matrix_exponential():
    """x(s) = x0 + s phi1(sL) v0 against torch.linalg.matrix_exp."""
    gen = torch.Generator().manual_seed(6)
    M = torch.randn(200, 2, 3, dtype=torch.float64, generator=gen)
    M[:50, :, :2] *= 1e-6                                   # nearly zero linear part
    M[50:100, 1, 0] = 0
    M[50:100, 0, 0] = M[50:100, 1, 1]                       # Jordan blocks
    f = R.Field.of(M)
    s = R.RHO / f.rate().clamp(min=1.0)
    x = torch.randn(200, 2, dtype=torch.float64, generator=gen)
    terms = R.series_terms(R.RHO)
    ours = torch.stack(R.flow(f, x[:, 0], x[:, 1], s, terms), 1)
    H = torch.zeros(200, 3, 3, dtype=torch.float64)
    H[:, :2] = M * s[:, None, None]
    expected = (torch.linalg.matrix_exp(H) @ torch.cat([x, torch.ones(200, 1,
                dtype=torch.float64)], 1)[..., None])[:, :2, 0]
    assert (ours - expected).abs().max() < 1e-13 * (1 + expected.abs().max())


def test_phi1_backward_matches_autograd_of_series():
    gen = torch.Generator().manual_seed(7)
    a = (torch.rand(30, dtype=torch.float64, generator=gen) * 2 - 1).requires_grad_()
    q = (torch.rand(30, dtype=torch.float64, generator=gen) * 2 - 1).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, q: R._Phi1.apply(a, q, 21), (a, q))


def test_float32_trajectory_along_a_cell_line():
    """A prior sample whose trajectory approaches a cell line asymptotically:
    float32 positions cannot resolve it, so float32 inputs are integrated in
    float64 (this point was 3.7e-4 off when integrated in float32)."""
    T = CPAB((4, 4), backend='torch')
    gen = torch.Generator().manual_seed(0)
    theta = T.sample_theta(88, generator=gen)[67:68]
    point = torch.rand(4096, 2, generator=gen)[2439:2440]
    out = T.transform(theta, point)
    assert out.dtype == torch.float32
    expected = T.transform(theta.double(), point.double())
    assert (out.double() - expected).abs().max() < 1e-6
