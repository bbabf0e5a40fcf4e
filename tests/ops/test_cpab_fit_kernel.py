"""The compiled kernel of the fast solver's linearised systems
(``cpab_fit.h``, :class:`CompiledSystems`) against its PyTorch reference
(:class:`TorchSystems`), and the fits that use it against the fits that do
not."""
import pytest
import torch

from cpabmm.models.motion import CPABMotion
from cpabmm.models.motion.cpab_diagnostics import keypoint_pairs
from cpabmm.models.motion.cpab_solver import CompiledSystems, LinearisedField, TorchSystems
from cpabmm.ops.cpab import CPAB, function
from cpabmm.ops.cpab._ext import load_ext

pytestmark = pytest.mark.skipif(
    not function.compiled_available(torch.device('cpu')),
    reason=f'cpabmm._ext is not built ({function.BUILD_COMMAND})')

DEVICES = ['cpu', pytest.param('cuda', marks=pytest.mark.cuda)]


def problems(cpab, G, n, dtype, seed=0):
    """Control points in and around the domain, targets near them and
    moderate thetas (the fast solver's kind: the integration crosses cells)."""
    generator = torch.Generator().manual_seed(seed)
    control = torch.rand(G, n, 2, generator=generator, dtype=dtype) * 1.4 - 0.2
    target = control + 0.1 * torch.randn(G, n, 2, generator=generator, dtype=dtype)
    theta = cpab.sample_theta(G, generator=generator, dtype=dtype)
    return control, target, theta


def both_systems(cpab, dtype, device):
    basis = cpab.basis_as(dtype, device)
    reference = TorchSystems(LinearisedField(basis, cpab.nc),
                             lambda theta, points: cpab.transform_unchecked(theta, points))
    return reference, CompiledSystems(cpab, dtype, torch.device(device))


def assert_systems_close(actual, expected, rtol):
    """Each tensor within ``rtol`` times its largest entry."""
    for got, want in zip(actual, expected):
        torch.testing.assert_close(got, want, rtol=0, atol=rtol * want.abs().max().item())


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('nc, n', [((4, 4), 5), ((6, 6), 50), ((3, 5), 7)])
@pytest.mark.parametrize('zero_boundary', [False, True])
def test_systems_match_the_torch_reference(device, nc, n, zero_boundary):
    """Start and steps (robust factors or none) equal the PyTorch systems to
    float64 rounding, points outside the domain included."""
    cpab = CPAB(nc, zero_boundary=zero_boundary).to(device)
    control, target, theta = (t.to(device) for t in problems(cpab, 6, n, torch.float64))
    reference, compiled = both_systems(cpab, torch.float64, device)
    start = compiled.start(control, target)
    expected = reference.start(control, target)
    assert [t.shape for t in start] == [t.shape for t in expected]
    assert_systems_close(start, expected, 1e-13)
    for robust in (0.05, 0.0):
        assert_systems_close(compiled.step(theta, control, target, start[2], robust),
                             reference.step(theta, control, target, expected[2], robust), 1e-12)


@pytest.mark.parametrize('device', DEVICES)
def test_float32_systems_match_the_torch_reference(device):
    """In float32 (double inside the kernel) the systems agree to float32
    rounding."""
    cpab = CPAB((6, 6)).to(device)
    control, target, theta = (t.to(device) for t in problems(cpab, 4, 50, torch.float32))
    reference, compiled = both_systems(cpab, torch.float32, device)
    start = compiled.start(control, target)
    assert start[0].dtype == torch.float32
    assert_systems_close(start, reference.start(control, target), 1e-6)
    assert_systems_close(compiled.step(theta, control, target, start[2], 0.05),
                         reference.step(theta, control, target, start[2], 0.05), 1e-5)


def test_fit_paths_agree_on_large_motion():
    """A float64 fit on detached keypoints (compiled systems) gives the
    thetas of the differentiable fit (PyTorch systems) to 1e-9."""
    kp_source, kp_driving = (kp.double() for kp in keypoint_pairs('large', 4))
    detached = CPABMotion().double().fit({'value': kp_source}, {'value': kp_driving})
    differentiable = CPABMotion(detach_keypoints=False).double().fit(
        {'value': kp_source.requires_grad_(True)}, {'value': kp_driving})
    assert differentiable['theta_global'].requires_grad
    for key, theta in detached.items():
        torch.testing.assert_close(differentiable[key].detach(), theta, rtol=0, atol=1e-9)


def test_only_fits_without_gradients_use_the_kernel(monkeypatch):
    """The compiled systems serve detached fits; fits whose keypoints carry
    gradients and fits on the reference backend build their systems from
    PyTorch ops."""
    calls = []
    kernel = function.compiled_fit_system
    monkeypatch.setattr('cpabmm.models.motion.cpab_solver.compiled_fit_system',
                        lambda *args: calls.append(1) or kernel(*args))
    kp_source, kp_driving = keypoint_pairs('small', 1)
    CPABMotion().fit({'value': kp_source}, {'value': kp_driving})
    assert len(calls) == 5                     # 2 starts, 1 + 2 steps
    calls.clear()
    CPABMotion(detach_keypoints=False).fit({'value': kp_source.requires_grad_(True)},
                                           {'value': kp_driving})
    CPABMotion(backend='torch').fit({'value': kp_source}, {'value': kp_driving})
    assert calls == []


def fit_args(**changes):
    """Valid arguments of ``fit_system`` (a step on 4x4 cells), with changes."""
    cpab = CPAB((4, 4))
    control, target, theta = problems(cpab, 2, 5, torch.float64)
    args = dict(A=cpab.theta_to_A(theta), basis=cpab.basis, control=control, target=target,
                nx=4, ny=4, robust=0.05, zero_boundary=False)
    args.update(changes)
    return args


@pytest.mark.parametrize('changes, message', [
    (dict(basis=torch.zeros(10, 58, dtype=torch.float64)), r'basis must have shape \[384, d\]'),
    (dict(control=torch.zeros(2, 5, 3, dtype=torch.float64)), r'control must have shape'),
    (dict(target=torch.zeros(2, 4, 2, dtype=torch.float64)), 'target must have the shape'),
    (dict(target=torch.zeros(2, 5, 2)), 'target has dtype Float but A has Double'),
    (dict(A=torch.zeros(3, 64, 2, 3, dtype=torch.float64)), r'A must have shape \[2, 64, 2, 3\]'),
    (dict(nx=0), 'nc must be two integers'),
])
def test_bad_arguments_raise_value_error(changes, message):
    """Every argument is checked before a kernel runs (one ValueError each)."""
    with pytest.raises(ValueError, match=message):
        load_ext().fit_system(**fit_args(**changes))


def test_empty_problems():
    """No problems: empty systems, no kernel."""
    empty = torch.zeros(0, 5, 2, dtype=torch.float64)
    J, b, mean_square = load_ext().fit_system(**fit_args(A=None, control=empty, target=empty))
    assert J.shape == (0, 10, 58) and b.shape == (0, 10) and mean_square.shape == (0, 1, 1)
