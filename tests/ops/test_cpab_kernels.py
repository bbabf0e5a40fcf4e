"""The compiled CPAB kernels (C++ and CUDA) against independent references:
``torch.linalg.matrix_exp`` and autograd for the affine exponential, the
pure-PyTorch reference path and libcpab's fixture for the flow, finite
differences (``gradcheck``) for the analytic backward."""
import os.path as osp

import pytest
import torch

from cpabmm.ops.cpab import function, reference
from cpabmm.ops.cpab._ext import load_ext
from cpabmm.ops.cpab.tessellation import Tessellation
from tests.tools.loading import load_tool

pytestmark = pytest.mark.skipif(
    not function.compiled_available(torch.device('cpu')),
    reason=f'cpabmm._ext is not built ({function.BUILD_COMMAND})')

DEVICES = ['cpu', pytest.param('cuda', marks=pytest.mark.cuda)]


def basis(nc, zero_boundary=False):
    return torch.from_numpy(Tessellation(nc, zero_boundary=zero_boundary).basis)


def random_A(nc, T, scale, zero_boundary=False, seed=0):
    """Per-triangle matrices ``[T, nT, 2, 3]`` of random CPA fields."""
    B = basis(nc, zero_boundary)
    g = torch.Generator().manual_seed(seed)
    theta = torch.randn(T, B.shape[1], generator=g, dtype=torch.float64)
    return (theta @ B.T * scale).reshape(T, -1, 2, 3).contiguous()


def interpolated_A(nc, T, scale, seed=0):
    """Continuous piecewise-affine fields without a basis (quick for large
    tessellations): random velocities at the cell corners and centres,
    interpolated linearly on each triangle."""
    nx, ny = nc
    g = torch.Generator().manual_seed(seed)
    corners = torch.randn(T, ny + 1, nx + 1, 2, generator=g, dtype=torch.float64)
    centres = torch.randn(T, ny, nx, 2, generator=g, dtype=torch.float64)
    cy, cx = torch.meshgrid(torch.arange(ny, dtype=torch.float64),
                            torch.arange(nx, dtype=torch.float64), indexing='ij')
    # corner offsets (dx, dy) of each triangle: bottom, right, top, left
    pairs = torch.tensor([[[0, 0], [1, 0]], [[1, 0], [1, 1]],
                          [[1, 1], [0, 1]], [[0, 1], [0, 0]]])
    ix = cx[..., None, None] + pairs[..., 0]   # [ny, nx, 4, 2]
    iy = cy[..., None, None] + pairs[..., 1]
    pos = torch.stack([ix / nx, iy / ny], -1)  # [ny, nx, 4, 2, 2]
    centre = torch.stack([(cx + 0.5) / nx, (cy + 0.5) / ny], -1)
    pos = torch.cat([pos, centre[:, :, None, None].expand(-1, -1, 4, 1, 2)], 3)
    P = torch.cat([pos.transpose(-1, -2), torch.ones_like(pos[..., :1, 0])[..., None, :]
                   .expand(-1, -1, -1, 1, 3)], -2)        # [ny, nx, 4, 3, 3]
    vel = torch.cat([corners[:, iy.long(), ix.long()],
                     centres[:, :, :, None, None].expand(-1, -1, -1, 4, 1, 2)], 4)
    A = vel.transpose(-1, -2) @ torch.linalg.inv(P)       # [T, ny, nx, 4, 2, 3]
    return (A * scale).reshape(T, -1, 2, 3).contiguous()


def random_points(n, low=-0.2, high=1.2, seed=1, batch=()):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*batch, n, 2, generator=g, dtype=torch.float64) *
            (high - low) + low)


def assert_close(actual, expected, atol, rtol=0.0):
    torch.testing.assert_close(actual, expected, atol=atol, rtol=rtol)


def run_with_grads(fn, A, points, weights):
    """``fn(A, points)`` and the gradients of ``sum(weights * fn)``."""
    A = A.detach().clone().requires_grad_()
    points = points.detach().clone().requires_grad_()
    out = fn(A, points)
    (out * weights).sum().backward()
    return out.detach(), A.grad, points.grad


def assert_gradients_match(A, points, nc, weights, rtol):
    """Gradients of the compiled path equal the reference's up to ``rtol``
    times their largest entry."""
    _, gA, gp = run_with_grads(
        lambda A, p: function.compiled_integrate(A, p, nc), A, points, weights)
    _, rA, rp = run_with_grads(lambda A, p: reference.integrate(A, p, nc),
                               A, points, weights)
    assert_close(gA, rA, atol=rtol * rA.abs().max().item())
    assert_close(gp, rp, atol=rtol * rp.abs().max().item())


def random_weights(shape, seed, device='cpu'):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, dtype=torch.float64, generator=g).to(device)


# --------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------
def affine_cases():
    """Affine fields of every kind and times at the largest spectral radius
    of s L the kernels use (1.5), with start points."""
    g = torch.Generator().manual_seed(0)
    A = torch.randn(64, 2, 3, generator=g, dtype=torch.float64)
    A[:16] *= 4.0
    A[16:20, :, :2] = 0.0                                    # translations
    A[20:24, :, :2] = torch.tensor([[0.0, 3.0], [0.0, 0.0]])  # nilpotent
    A[24:28, :, :2] = torch.tensor([[0.0, -5.0], [5.0, 0.0]])  # rotations
    A[28:32, :, :2] = torch.tensor([[2.0, 0.0], [0.0, 2.0]])  # expansions
    radius = torch.linalg.eigvals(A[:, :, :2]).abs().amax(1).clamp(min=1e-3)
    s = 1.5 / radius * torch.linspace(0.1, 1.0, 64, dtype=torch.float64)
    x0 = torch.randn(64, 2, generator=g, dtype=torch.float64)
    return A, s, x0


def expm_flow(A, s, x0):
    """x(s) = expm(s [[A], [0 0 0]]) [x0; 1] by torch.linalg.matrix_exp."""
    X = torch.cat([A * s[:, None, None], torch.zeros_like(A[:, :1])], 1)
    E = torch.linalg.matrix_exp(X)
    return (E[:, :2, :2] @ x0[..., None])[..., 0] + E[:, :2, 2]


def test_affine_flow_matches_matrix_exp():
    A, s, x0 = affine_cases()
    expected = expm_flow(A, s, x0)
    scale = expected.abs().amax(1, keepdim=True) + 1
    assert_close(load_ext().affine_flow(A, s, x0) / scale, expected / scale,
                 atol=1e-14)


def test_affine_flow_gradient_matches_autograd():
    A, s, x0 = affine_cases()
    weights = random_weights((64, 2), 1)
    _, rA, rx = run_with_grads(lambda A, x: expm_flow(A, s, x), A, x0, weights)
    grad_A, grad_x = load_ext().affine_flow_backward(A, s, x0, weights)
    scale = rA.abs().amax((1, 2), keepdim=True) + 1
    assert_close(grad_A / scale, rA / scale, atol=1e-13)
    assert_close(grad_x, rx, atol=1e-13 * rx.abs().max().item())


# --------------------------------------------------------------------------
# Velocity
# --------------------------------------------------------------------------
@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('shared', [True, False])
def test_velocity_matches_reference(device, shared):
    nc = (3, 2)
    A = random_A(nc, 4, 1.0).to(device)
    points = random_points(100, batch=() if shared else (4, )).to(device)
    weights = random_weights((4, 100, 2), 2, device)
    out, gA, gp = run_with_grads(
        lambda A, p: function.compiled_velocity(A, p, nc), A, points, weights)
    ref, rA, rp = run_with_grads(
        lambda A, p: reference.velocity(A, p, nc), A, points, weights)
    assert_close(out, ref, atol=1e-14)
    assert_close(gA, rA, atol=1e-12)
    assert_close(gp, rp, atol=1e-12)


# --------------------------------------------------------------------------
# Integration: forward
# --------------------------------------------------------------------------
def fixture_case(fixtures_dir, key):
    data = torch.load(osp.join(fixtures_dir, 'cpab_libcpab_seed0.pt'),
                      weights_only=True)[key]
    nc = int(data['nc'])
    B = torch.as_tensor(data['basis'], dtype=torch.float64)
    A = (data['thetas'].double() @ B.T).reshape(9, -1, 2, 3).contiguous()
    points = data['points'].double().T.contiguous()
    exact = data['transformed_exact'].double().transpose(1, 2)
    return (nc, nc), A, points, exact


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('key', ['tess4', 'tess6'])
def test_integrate_matches_libcpab_exact_flow(fixtures_dir, device, key):
    nc, A, points, exact = fixture_case(fixtures_dir, key)
    A, points = A.to(device), points.to(device)
    out = function.compiled_integrate(A, points, nc)
    assert_close(out.cpu(), exact, atol=1e-6)
    out32 = function.compiled_integrate(A.float(), points.float(), nc)
    assert out32.dtype == torch.float32
    assert_close(out32.cpu().double(), exact, atol=1e-4)


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('zero_boundary', [False, True])
def test_integrate_matches_reference(device, zero_boundary):
    nc = (4, 3)
    A = random_A(nc, 3, 1.5, zero_boundary).to(device)
    points = random_points(150).to(device)
    out = function.compiled_integrate(A, points, nc)
    assert_close(out, reference.integrate(A, points, nc), atol=1e-10)


@pytest.mark.parametrize('device', DEVICES)
def test_shared_points_equal_expanded_points(device):
    nc = (3, 3)
    A = random_A(nc, 3, 1.0).to(device)
    points = random_points(80).to(device)
    weights = random_weights((3, 80, 2), 3, device)
    fn = lambda A, p: function.compiled_integrate(A, p, nc)  # noqa: E731
    out, gA, gp = run_with_grads(fn, A, points, weights)
    out_t, gA_t, gp_t = run_with_grads(
        fn, A, points.expand(3, -1, -1).contiguous(), weights)
    assert gp.shape == points.shape and gp_t.shape == (3, 80, 2)
    assert_close(out, out_t, atol=0.0)
    assert_close(gA, gA_t, atol=1e-13)
    assert_close(gp, gp_t.sum(0), atol=1e-13)


def test_float32_matches_reference():
    """Both paths compute in float64 for float32 input: they agree to float32
    rounding."""
    nc = (4, 4)
    A = random_A(nc, 2, 1.0).float()
    points = random_points(100).float()
    out = function.compiled_integrate(A, points, nc)
    assert out.dtype == torch.float32
    assert_close(out, reference.integrate(A, points, nc), atol=1e-6)


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_inputs_are_computed_in_float32(dtype):
    nc = (2, 2)
    A = random_A(nc, 2, 0.5).to(dtype).requires_grad_()
    points = random_points(30, low=0.0, high=1.0).to(dtype)
    out = function.compiled_integrate(A, points, nc)
    assert out.dtype == dtype
    expected = function.compiled_integrate(A.detach().float(), points.float(), nc)
    assert_close(out.float(), expected.to(dtype).float(), atol=0.0)
    out.float().sum().backward()
    assert A.grad.dtype == dtype and torch.isfinite(A.grad.float()).all()
    v = function.compiled_velocity(A.detach(), points, nc)
    assert v.dtype == dtype


def test_points_far_outside_the_domain():
    nc = (3, 3)
    A = random_A(nc, 2, 1.0)
    points = torch.tensor([[3.0, -2.0], [-4.0, 0.5], [0.5, 7.0], [-3.0, -3.0]],
                          dtype=torch.float64)
    out = function.compiled_integrate(A, points, nc)
    assert_close(out, reference.integrate(A, points, nc), atol=1e-9)
    huge = torch.tensor([[1e6, -1e6], [float('inf'), 0.5], [float('nan'), 0.5]],
                        dtype=torch.float64)
    out = function.compiled_integrate(A, huge, nc)  # must not crash
    assert out.shape == (2, 3, 2) and torch.isfinite(out[:, 0]).all()


def test_empty_inputs():
    nc = (2, 2)
    A = random_A(nc, 2, 1.0).requires_grad_()
    points = torch.zeros(0, 2, dtype=torch.float64, requires_grad=True)
    out = function.compiled_integrate(A, points, nc)
    assert out.shape == (2, 0, 2)
    out.sum().backward()
    assert (A.grad == 0).all() and points.grad.shape == (0, 2)


# --------------------------------------------------------------------------
# Integration: backward
# --------------------------------------------------------------------------
@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('zero_boundary', [False, True])
def test_gradients_match_reference(device, zero_boundary):
    nc = (4, 3)
    A = random_A(nc, 3, 1.5, zero_boundary, seed=2).to(device)
    points = random_points(120, seed=3, batch=(3, )).to(device)
    assert_gradients_match(A, points, nc, random_weights((3, 120, 2), 4, device),
                           rtol=1e-9)


@pytest.mark.parametrize('device', DEVICES)
def test_gradients_of_a_large_tessellation(device):
    """20x20 cells: the CUDA backward then sums in global memory."""
    nc = (20, 20)
    A = interpolated_A(nc, 2, 0.5, seed=5).to(device)
    points = random_points(40, seed=6).to(device)
    assert_gradients_match(A, points, nc, random_weights((2, 40, 2), 7, device),
                           rtol=1e-9)


def test_gradients_match_reference_on_fixture(fixtures_dir):
    nc, A, points, _ = fixture_case(fixtures_dir, 'tess4')
    assert_gradients_match(A, points, nc,
                           random_weights((9, points.shape[0], 2), 0), rtol=1e-11)


def test_float32_gradients_match_reference():
    nc = (3, 3)
    A = random_A(nc, 2, 1.0, seed=4)
    points = random_points(60, seed=5)
    weights = random_weights((2, 60, 2), 6)
    _, rA, rp = run_with_grads(lambda A, p: reference.integrate(A, p, nc),
                               A, points, weights)
    _, gA, gp = run_with_grads(
        lambda A, p: function.compiled_integrate(A, p, nc), A.float(),
        points.float(), weights.float())
    assert gA.dtype == torch.float32 and gp.dtype == torch.float32
    assert_close(gA.double(), rA, atol=1e-6 * rA.abs().max().item())
    assert_close(gp.double(), rp, atol=1e-6 * rp.abs().max().item())


@pytest.mark.parametrize('zero_boundary', [False, True])
def test_gradcheck_theta_and_points(zero_boundary):
    """Finite differences through theta (continuous fields; with
    zero_boundary the field is discontinuous outside the domain, which the
    crossing-time term must handle) and through the points, some of which
    start outside the domain or cross several cells."""
    nc = (2, 2)
    B = basis(nc, zero_boundary)
    theta = torch.randn(2, B.shape[1], dtype=torch.float64,
                        generator=torch.Generator().manual_seed(7)) * 1.5
    points = torch.tensor([[0.1, 0.2], [0.45, 0.8], [0.9, 0.55], [-0.1, 0.3],
                           [1.08, 1.05], [0.43, -0.07]], dtype=torch.float64)

    def transform(theta, points):
        A = (theta @ B.T).reshape(2, -1, 2, 3)
        return function.compiled_integrate(A, points, nc)

    assert torch.autograd.gradcheck(
        transform, (theta.requires_grad_(), points.requires_grad_()),
        eps=1e-6, atol=1e-7, rtol=1e-6)


def test_gradcheck_per_transformation_points():
    nc = (3, 2)
    A = random_A(nc, 2, 1.0, seed=8).requires_grad_()
    points = random_points(5, seed=9, batch=(2, )).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda A, p: function.compiled_integrate(A, p, nc), (A, points),
        eps=1e-6, atol=1e-7, rtol=1e-6)


def test_cpu_backward_is_deterministic():
    nc = (4, 4)
    A = random_A(nc, 5, 1.5, seed=10)
    points = random_points(700, seed=11)
    weights = random_weights((5, 700, 2), 12)
    fn = lambda A, p: function.compiled_integrate(A, p, nc)  # noqa: E731
    threads = torch.get_num_threads()
    try:
        runs = [run_with_grads(fn, A, points, weights) for _ in range(2)]
        torch.set_num_threads(1)
        runs.append(run_with_grads(fn, A, points, weights))
    finally:
        torch.set_num_threads(threads)
    for out, gA, gp in runs[1:]:
        assert torch.equal(out, runs[0][0])
        assert torch.equal(gA, runs[0][1])
        assert torch.equal(gp, runs[0][2])


# --------------------------------------------------------------------------
# Bad input and availability
# --------------------------------------------------------------------------
@pytest.mark.parametrize('make_args, message', [
    (lambda A, p: (A[:, :-1].contiguous(), p), 'A must have shape'),
    (lambda A, p: (A[0], p), 'A must have shape'),
    (lambda A, p: (A, p[:, :1].contiguous()), 'points must have shape'),
    (lambda A, p: (A, p.expand(3, -1, -1).contiguous()), 'points must have shape'),
    (lambda A, p: (A, p.float()), 'points has dtype'),
    (lambda A, p: (A.long(), p.long()), 'must be float32 or float64'),
])
def test_bad_input_raises_value_error(make_args, message):
    nc = (2, 2)
    A, points = make_args(random_A(nc, 2, 1.0), random_points(4))
    with pytest.raises(ValueError, match=message):
        function.compiled_integrate(A, points, nc)
    with pytest.raises(ValueError, match=message):
        function.compiled_velocity(A, points, nc)


def test_wrong_tessellation_size_raises_value_error():
    A, points = random_A((2, 2), 1, 1.0), random_points(4)
    with pytest.raises(ValueError, match='A must have shape'):
        function.compiled_integrate(A, points, (3, 2))
    with pytest.raises(ValueError, match='nc must be'):
        function.compiled_integrate(A, points, (0, 4))


def test_non_contiguous_inputs_are_accepted():
    nc = (2, 2)
    A = random_A(nc, 2, 1.0)
    points = random_points(10)
    out = function.compiled_integrate(A.transpose(0, 1).contiguous().transpose(0, 1),
                                      points.T.contiguous().T, nc)
    assert_close(out, function.compiled_integrate(A, points, nc), atol=0.0)


def test_unavailable_extension(monkeypatch):
    monkeypatch.setattr(function, 'load_ext', lambda: None)
    assert not function.compiled_available(torch.device('cpu'))
    with pytest.raises(RuntimeError, match='not built'):
        function.compiled_integrate(random_A((2, 2), 1, 1.0), random_points(3),
                                    (2, 2))


def test_availability_by_device():
    assert function.compiled_available(torch.device('cpu'))
    assert function.compiled_available('cuda') == (
        load_ext().has_cuda() and torch.cuda.is_available())
    assert not function.compiled_available(torch.device('meta'))


def test_benchmark_cli_runs(capsys):
    """``tools/benchmark.py cpab`` on a tiny workload prints both backends."""
    load_tool('benchmark').main(['cpab', '--samples', '1', '--transforms', '2', '--grid',
                    '4', '--repeat', '1'])
    out = capsys.readouterr().out
    assert 'cpu   torch' in out and 'cpu   cpp' in out and 'x vs torch' in out
