"""The CPAB class: dispatcher, dtypes, grids, input validation, plots."""
import types

import pytest
import torch

import cpabmm.ops.cpab.cpab as cpab_module
from cpabmm.ops import CPAB
from cpabmm.ops.cpab import reference as R


@pytest.fixture
def T():
    return CPAB((3, 3), backend='torch')


@pytest.fixture
def theta(T):
    return T.sample_theta(2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))


@pytest.fixture
def no_compiled(monkeypatch):
    """Pretend the compiled ops are not built; record warnings."""
    logged = []
    monkeypatch.setattr(cpab_module, '_compiled_ops', lambda device: None)
    monkeypatch.setattr(cpab_module, '_fallback_warned', set())
    monkeypatch.setattr(cpab_module, 'print_log', lambda msg, **kw: logged.append(msg))
    return logged


def test_auto_falls_back_with_one_warning(no_compiled, theta):
    T = CPAB((3, 3))
    points = torch.rand(20, 2, dtype=torch.float64)
    expected = CPAB((3, 3), backend='torch').transform(theta, points)
    for _ in range(3):
        assert torch.equal(T.transform(theta, points), expected)
        T.velocity(theta, points)
    assert len(no_compiled) == 1 and 'reference' in no_compiled[0]


def test_forced_compiled_backend_errors(no_compiled, theta):
    points = torch.rand(5, 2, dtype=torch.float64)
    with pytest.raises(RuntimeError, match='not built'):
        CPAB((3, 3), backend='cpp').transform(theta, points)
    with pytest.raises(ValueError, match='needs cuda tensors'):
        CPAB((3, 3), backend='cuda').transform(theta, points)


def test_auto_uses_compiled_ops_when_available(monkeypatch, theta):
    calls = []

    def compiled_integrate(A, points, nc):
        calls.append((tuple(A.shape), tuple(points.shape), nc))
        return R.integrate(A, points, nc)

    fake = types.SimpleNamespace(compiled_integrate=compiled_integrate,
                                 compiled_velocity=R.velocity)
    monkeypatch.setattr(cpab_module, '_compiled_ops', lambda device: fake)
    T = CPAB((3, 3), backend='cpp')
    T.transform_grid(theta, (4, 5))
    assert calls == [((2, 36, 2, 3), (20, 2), (3, 3))]   # grid shared, not repeated


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_inputs_computed_in_float32(T, theta, dtype):
    points = torch.rand(30, 2)
    out = T.transform(theta.to(dtype), points.to(dtype))
    assert out.dtype == dtype
    ref = T.transform(theta.to(dtype).float(), points.to(dtype).float())
    assert torch.equal(out, ref.to(dtype))
    assert T.velocity(theta.to(dtype), points.to(dtype)).dtype == dtype


def test_autocast_does_not_lower_precision(T, theta):
    points = torch.rand(30, 2)
    expected = T.transform(theta.float(), points)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = T.transform(theta.float(), points)
    assert out.dtype == torch.float32
    assert torch.equal(out, expected)


def test_float_types_and_promotion(T, theta):
    points = torch.rand(30, 2, dtype=torch.float64)
    out64 = T.transform(theta, points)
    out32 = T.transform(theta.float(), points.float())
    assert out64.dtype == torch.float64 and out32.dtype == torch.float32
    assert (out64 - out32).abs().max() < 1e-4
    assert T.transform(theta.float(), points).dtype == torch.float64


def test_gradients_flow_in_float32(T, theta):
    th = theta.float().requires_grad_()
    pts = torch.rand(10, 2, requires_grad=True)
    T.transform(th, pts).sum().backward()
    assert th.grad.shape == th.shape and pts.grad.shape == pts.shape
    assert torch.isfinite(th.grad).all() and torch.isfinite(pts.grad).all()


def test_transform_grid(T, theta):
    grid = T.transform_grid(theta, (4, 5))
    assert grid.shape == (2, 4, 5, 2)
    xs, ys = torch.linspace(0, 1, 5, dtype=torch.float64), torch.linspace(0, 1, 4,
                                                                          dtype=torch.float64)
    points = torch.stack([xs[None].expand(4, 5), ys[:, None].expand(4, 5)], -1).view(-1, 2)
    assert torch.equal(grid.view(2, 20, 2), T.transform(theta, points))
    identity = T.transform_grid(T.identity(1, dtype=torch.float64), (4, 5))
    assert torch.equal(identity[0].view(-1, 2), points)


def test_module_moves_keep_float64_basis(T):
    moved = T.to(torch.float32)
    assert moved.basis.dtype == torch.float64
    assert 'basis' not in T.state_dict()
    assert T.basis_as(torch.float32, torch.device('cpu')).dtype == torch.float32


def test_empty_inputs(T, theta):
    assert T.transform(theta, torch.zeros(0, 2, dtype=torch.float64)).shape == (2, 0, 2)


@pytest.mark.parametrize('call, match', [
    (lambda T, th, p: T.transform([0.0], p), 'theta must be a torch.Tensor'),
    (lambda T, th, p: T.transform(th, p.numpy()), 'points must be a torch.Tensor'),
    (lambda T, th, p: T.transform(th.long(), p), 'theta must be a floating-point'),
    (lambda T, th, p: T.transform(th, p.int()), 'points must be a floating-point'),
    (lambda T, th, p: T.transform(th[0], p), r'theta must have shape \[T, 34\]'),
    (lambda T, th, p: T.transform(th[:, :5], p), r'theta must have shape \[T, 34\]'),
    (lambda T, th, p: T.transform(th, p[:, :1]), 'points must have shape'),
    (lambda T, th, p: T.transform(th, p.expand(3, -1, -1)), 'points must have shape'),
    (lambda T, th, p: T.velocity(th, p[None, None]), 'points must have shape'),
    (lambda T, th, p: T.transform(th, p.to('meta')), 'move both to one device'),
    (lambda T, th, p: T.transform(th * float('nan'), p), 'theta has non-finite'),
    (lambda T, th, p: T.transform(th, p + float('inf')), 'points have non-finite'),
    (lambda T, th, p: T.transform_grid(th, (0, 4)), 'size must be two positive ints'),
    (lambda T, th, p: T.transform_grid(th, 8), 'size must be two positive ints'),
    (lambda T, th, p: T.transform_grid(th.numpy(), (2, 2)), 'theta must be a torch.Tensor'),
])
def test_bad_inputs_raise_value_error(T, theta, call, match):
    points = torch.rand(7, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match=match):
        call(T, theta, points)


@pytest.mark.parametrize('kwargs, match', [
    (dict(tess_size=(0, 4)), 'tess_size'), (dict(tess_size=(4.0, 4)), 'tess_size'),
    (dict(tess_size=(2, 2, 2)), 'tess_size'), (dict(backend='gpu'), 'backend'),
    (dict(max_iterations=0), 'max_iterations'),
])
def test_bad_construction_raises_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CPAB(**kwargs)


def test_plots(T, theta):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from cpabmm.ops.cpab.plot import plot_deformed_grid, plot_velocity_field
    fig, axes = plt.subplots(1, 2)
    plot_velocity_field(T, theta[0], ax=axes[0], n_points=5)
    plot_deformed_grid(T, theta[:1], ax=axes[1], n_lines=3, resolution=9,
                       show_tessellation=True)
    assert len(axes[0].collections) == 1               # the quiver
    assert len(axes[1].lines) == 6 + 4 + 4 + 18        # 6 grid lines + tessellation
    plt.close(fig)
    with pytest.raises(ValueError, match='plot one theta'):
        plot_velocity_field(T, theta)


@pytest.mark.cuda
def test_reference_path_on_cuda_matches_cpu():
    T = CPAB((4, 4), backend='torch')
    theta = T.sample_theta(3, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    points = torch.rand(300, 2, dtype=torch.float64) * 1.4 - 0.2
    expected = T.transform(theta, points)
    th, pts = theta.cuda().requires_grad_(), points.cuda()
    out = T.transform(th, pts)
    out.sum().backward()
    assert (out.cpu() - expected).abs().max() < 1e-9
    assert torch.isfinite(th.grad).all()
    assert T.transform_grid(th.detach(), (8, 8)).device.type == 'cuda'
