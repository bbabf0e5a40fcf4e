"""Tessellation, basis and prior of the CPAB op against libcpab's conventions."""
import os.path as osp

import numpy as np
import pytest
import torch

from cpabmm.ops.cpab import CPAB, Tessellation
from cpabmm.ops.cpab.tessellation import locate_cells


@pytest.fixture(scope='module')
def libcpab(fixtures_dir):
    return torch.load(osp.join(fixtures_dir, 'cpab_libcpab_seed0.pt'), weights_only=True)


@pytest.mark.parametrize('nc, zero_boundary, volume_preservation, d', [
    ((4, 4), False, False, 58), ((6, 6), False, False, 130),
    ((4, 4), True, False, 62), ((6, 6), True, False, 142),
    ((4, 4), False, True, 15), ((6, 6), False, True, 27),
])
def test_dimensions(nc, zero_boundary, volume_preservation, d):
    T = CPAB(nc, zero_boundary, volume_preservation, backend='torch')
    assert T.dim == d
    assert tuple(T.basis.shape) == (24 * nc[0] * nc[1], d)
    assert T.basis.dtype == torch.float64


@pytest.mark.parametrize('n', [3, 5])
def test_dimension_formula(n):
    # 2 velocities per vertex ((n+1)^2 corners + n^2 centres), minus 2 per
    # pair of boundary triangles continued outside (4 (n - 1) pairs)
    assert Tessellation((n, n)).d == 4 * n * n - 4 * n + 10


@pytest.mark.parametrize('nc', [(2, 3), (3, 3), (4, 4)])
@pytest.mark.parametrize('zero_boundary', [False, True])
@pytest.mark.parametrize('volume_preservation', [False, True])
def test_basis_is_orthonormal_null_space(nc, zero_boundary, volume_preservation):
    tess = Tessellation(nc, zero_boundary, volume_preservation)
    B, L = tess.basis, tess.constraint_matrix
    assert np.abs(L @ B).max() < 1e-12
    assert np.abs(B.T @ B - np.eye(B.shape[1])).max() < 1e-12
    # the dimension is the full null space of the constraints (independent SVD)
    s = np.linalg.svd(L, compute_uv=False)
    rank = int((s > 1e-9 * s[0]).sum())
    assert B.shape[1] == L.shape[1] - rank


@pytest.mark.parametrize('key, n', [('tess4', 4), ('tess6', 6)])
def test_span_equals_libcpab(libcpab, key, n):
    fixture = libcpab[key]['basis'].numpy()
    B = Tessellation((n, n)).basis
    assert B.shape == fixture.shape
    # each basis lies in the span of the other
    assert np.abs(B @ (B.T @ fixture) - fixture).max() < 1e-10
    assert np.abs(fixture @ (fixture.T @ B) - B).max() < 1e-10


@pytest.mark.parametrize('key, n', [('tess4', 4), ('tess6', 6)])
def test_svd_basis_is_a_dense_rotation_like_libcpabs(libcpab, key, n):
    """The SVD basis spans the same space, is orthonormal, and is dense as
    libcpab's is (the sparse-born basis is mostly zeros)."""
    T = CPAB((n, n), backend='torch')
    B, svd = T.tessellation.basis, T.tessellation.svd_basis
    fixture = libcpab[key]['basis'].numpy()
    assert np.abs(svd.T @ svd - np.eye(svd.shape[1])).max() < 1e-12
    assert np.abs(fixture @ (fixture.T @ svd) - svd).max() < 1e-10
    for dense in (svd, fixture):
        assert (np.abs(dense) < 1e-12).mean() < 0.01
    assert (np.abs(B) < 1e-12).mean() > 0.5
    rotation = T.svd_rotation().numpy()
    assert np.abs(rotation.T @ rotation - np.eye(len(rotation))).max() < 1e-12
    assert np.abs(B @ rotation - svd).max() < 1e-12


def _libcpab_findcellidx(x: float, y: float, nx: int, ny: int) -> int:
    """Line-by-line transcription of libcpab's C++ ``findcellidx_2D``."""
    inc_x, inc_y = 1.0 / nx, 1.0 / ny
    p0 = min(nx * inc_x - 1e-9, max(0.0, x))
    p1 = min(ny * inc_y - 1e-9, max(0.0, y))
    xmod, ymod = np.fmod(p0, inc_x), np.fmod(p1, inc_y)
    lx, ly = xmod / inc_x, ymod / inc_y
    cell = min(nx - 1, int(np.floor((p0 - xmod) / inc_x))) + \
        min(ny - 1, int(np.floor((p1 - ymod) / inc_y))) * nx
    cell *= 4
    if x <= 0:
        if y <= 0 and y / inc_y < x / inc_x:
            return cell
        if y >= ny * inc_y and y / inc_y - ny > -x / inc_x:
            return cell + 2
        return cell + 3
    if x >= nx * inc_x:
        if y <= 0 and -y / inc_y > x / inc_x - nx:
            return cell
        if y >= ny * inc_y and y / inc_y - ny > x / inc_x - nx:
            return cell + 2
        return cell + 1
    if y <= 0:
        return cell
    if y >= ny * inc_y:
        return cell + 2
    if lx < ly:
        return cell + 2 if 1 - lx < ly else cell + 3
    return cell + 1 if 1 - lx < ly else cell


@pytest.mark.parametrize('nc', [(4, 4), (3, 5)])
def test_locate_matches_libcpab(nc):
    rng = np.random.default_rng(0)
    points = rng.uniform(-0.7, 1.7, size=(1500, 2))
    cx, cy, tri = locate_cells(torch.from_numpy(points), nc)
    ours = (4 * (cy * nc[0] + cx) + tri).numpy()
    theirs = np.array([_libcpab_findcellidx(x, y, *nc) for x, y in points])
    np.testing.assert_array_equal(ours, theirs)


def test_triangle_order(libcpab):
    """Triangle k of a cell is bottom, right, top, left (fixture README)."""
    tess = Tessellation((4, 4))
    centroids = torch.from_numpy(tess.centroids)
    cx, cy, tri = locate_cells(centroids, (4, 4))
    assert torch.equal(4 * (cy * 4 + cx) + tri, torch.arange(64))
    offsets = centroids[:4] - torch.tensor([0.125, 0.125], dtype=torch.float64)
    assert offsets[0, 1] < 0 and offsets[1, 0] > 0 and offsets[2, 1] > 0 and offsets[3, 0] < 0


def _velocity_of(A: np.ndarray, tri: int, p) -> np.ndarray:
    return A[tri] @ np.array([p[0], p[1], 1.0])


def test_continuity_inside_and_on_extended_lines():
    """zero_boundary=False: adjacent regions agree on their shared lines, also
    on the extended cell lines outside the domain."""
    n = 4
    tess = Tessellation((n, n))
    A = (tess.basis @ np.random.default_rng(1).normal(size=tess.d)).reshape(-1, 2, 3)
    tri = lambda cx, cy, k: 4 * (cy * n + cx) + k  # noqa: E731
    for t in np.linspace(0.05, 0.95, 5):
        for c in range(n - 1):
            x = (c + 1) / n
            y = (c + t) / n
            # vertical cell line inside, and below/above the domain
            np.testing.assert_allclose(_velocity_of(A, tri(c, 1, 1), (x, y)),
                                       _velocity_of(A, tri(c + 1, 1, 3), (x, y)), atol=1e-12)
            np.testing.assert_allclose(_velocity_of(A, tri(c, 0, 0), (x, -t)),
                                       _velocity_of(A, tri(c + 1, 0, 0), (x, -t)), atol=1e-12)
            np.testing.assert_allclose(_velocity_of(A, tri(c, n - 1, 2), (x, 1 + t)),
                                       _velocity_of(A, tri(c + 1, n - 1, 2), (x, 1 + t)),
                                       atol=1e-12)
            # horizontal lines left/right of the domain
            np.testing.assert_allclose(_velocity_of(A, tri(0, c, 3), (-t, x)),
                                       _velocity_of(A, tri(0, c + 1, 3), (-t, x)), atol=1e-12)
            np.testing.assert_allclose(_velocity_of(A, tri(n - 1, c, 1), (1 + t, x)),
                                       _velocity_of(A, tri(n - 1, c + 1, 1), (1 + t, x)),
                                       atol=1e-12)


def test_zero_boundary_and_volume_preservation():
    tess = Tessellation((3, 3), zero_boundary=True)
    A = (tess.basis @ np.random.default_rng(2).normal(size=tess.d)).reshape(-1, 2, 3)
    for t in np.linspace(0, 1, 7):
        for p in ((0.0, t), (1.0, t)):
            cx, cy, k = (int(v) for v in locate_cells(torch.tensor([p]), (3, 3)))
            assert abs(_velocity_of(A, 4 * (cy * 3 + cx) + k, p)[0]) < 1e-12
        for p in ((t, 0.0), (t, 1.0)):
            cx, cy, k = (int(v) for v in locate_cells(torch.tensor([p]), (3, 3)))
            assert abs(_velocity_of(A, 4 * (cy * 3 + cx) + k, p)[1]) < 1e-12
    tess = Tessellation((3, 3), volume_preservation=True)
    A = (tess.basis @ np.random.default_rng(3).normal(size=tess.d)).reshape(-1, 2, 3)
    np.testing.assert_allclose(A[:, 0, 0] + A[:, 1, 1], 0, atol=1e-12)


# ---------------------------------------------------------------------------
# Prior
# ---------------------------------------------------------------------------
def _libcpab_covariance(tess: Tessellation, length_scale: float, output_variance: float):
    """libcpab's covariance_cpa, literally (squared distances, 100 * max trick)."""
    c = tess.centroids
    dist = (c * c).sum(1)[:, None] - 2 * c @ c.T + (c * c).sum(1)[None]
    nT = len(c)
    cov_init = np.zeros((6 * nT, 6 * nT))
    for i in range(nT):
        for j in range(nT):
            block = 100 * dist.max() * np.ones((6, 6))
            block[np.arange(6), np.arange(6)] = dist[i, j]
            cov_init[6 * i:6 * i + 6, 6 * j:6 * j + 6] = block
    cov_avees = output_variance ** 2 * np.exp(-(cov_init / (2 * length_scale ** 2)))
    return tess.basis.T @ cov_avees @ tess.basis


@pytest.mark.parametrize('length_scale, output_variance', [(0.1, 1.0), (0.2, 0.5)])
def test_covariance_matches_libcpab(length_scale, output_variance):
    T = CPAB((3, 3), backend='torch')
    ours = T.covariance(length_scale, output_variance).numpy()
    theirs = _libcpab_covariance(T.tessellation, length_scale, output_variance)
    np.testing.assert_allclose(ours, theirs, atol=1e-12 * np.abs(theirs).max())
    assert np.allclose(ours, ours.T)
    assert np.linalg.eigvalsh(ours).min() > -1e-10


def test_sample_theta_follows_the_prior():
    T = CPAB((2, 2), backend='torch')
    samples = T.sample_theta(20000, length_scale=0.3, dtype=torch.float64,
                             generator=torch.Generator().manual_seed(0))
    assert samples.shape == (20000, T.dim) and samples.dtype == torch.float64
    cov = T.covariance(length_scale=0.3)
    empirical = samples.T @ samples / len(samples)
    assert (empirical - cov).abs().max() < 0.05 * cov.diagonal().max()
    again = T.sample_theta(20000, length_scale=0.3, dtype=torch.float64,
                           generator=torch.Generator().manual_seed(0))
    assert torch.equal(again, samples)


def test_prior_bad_parameters():
    T = CPAB((2, 2), backend='torch')
    with pytest.raises(ValueError, match='length_scale'):
        T.covariance(length_scale=0.0)
    with pytest.raises(ValueError, match='non-negative int'):
        T.sample_theta(-1)
