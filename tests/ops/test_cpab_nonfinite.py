"""Never a silent nan from the CPAB op: non-finite inputs raise, overflowing
integrations warn once per process (CPABOverflowWarning), finite inputs are
unchanged, and checks of CUDA tensors need CPABMM_CHECK_FINITE=1."""
import os
import subprocess
import sys
import warnings

import pytest
import torch

from cpabmm.ops.cpab import CPAB, CPABOverflowWarning, checks, function, reference, \
    set_finite_checks

BACKENDS = ['torch', pytest.param('cpp', marks=pytest.mark.skipif(
    not function.compiled_available(torch.device('cpu')), reason='cpabmm._ext is not built'))]


@pytest.fixture(autouse=True)
def fresh_warning_state(monkeypatch):
    """Each test starts as a fresh process: no overflow warned yet, checks
    on CPU tensors only."""
    monkeypatch.setattr(checks, '_warned', set())
    monkeypatch.setattr(checks, '_every_device', False)


def overflow_warnings(record):
    return [w for w in record if issubclass(w.category, CPABOverflowWarning)]


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('value', [float('nan'), float('inf'), -float('inf')])
def test_non_finite_theta_raises_a_one_line_value_error(backend, value):
    T = CPAB((4, 4), backend=backend)
    theta = torch.zeros(3, T.dim)
    theta[1, 5] = value
    with pytest.raises(ValueError, match=r'^theta has non-finite values \(nan or inf\) in '
                                         r'rows \[1\] of 3: ') as error:
        T.transform_grid(theta, (8, 8))
    assert '\n' not in str(error.value)
    points = torch.rand(3, 10, 2)
    points[2, 4, 0] = value
    with pytest.raises(ValueError, match=r'^points have non-finite values \(nan or inf\) in '
                                         r'entries \[2\] of 3'):
        T.transform(torch.zeros(3, T.dim), points)
    with pytest.raises(ValueError, match='theta has non-finite'):
        T.velocity(theta, points[0])


@pytest.mark.parametrize('backend', BACKENDS)
def test_overflowing_integration_warns_once_and_passes_the_values_on(backend):
    """The reproduction: theta 1e3 in every entry overflows float32."""
    T = CPAB((4, 4), backend=backend)
    theta = torch.full((1, T.dim), 1e3, requires_grad=True)
    with pytest.warns(CPABOverflowWarning) as record:
        out = T.transform_grid(theta, (8, 8))
    record = overflow_warnings(record)
    assert len(record) == 1
    message = str(record[0].message)
    assert message.startswith('CPAB.transform overflowed: 1 of 1 finite thetas (norms up '
                              'to 7.62e+03')
    assert 'non-finite torch.float32 output' in message and 'output_variance' in message
    assert 'Reported once per process' in message and '\n' not in message
    assert record[0].filename == __file__        # attributed to the caller
    assert not torch.isfinite(out).all()          # passed on, never replaced
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter('always')
        T.transform_grid(torch.full((2, T.dim), 2e3), (8, 8)).sum()
        out.sum().backward()                      # nan gradient: same cause, no repeat
    assert not overflow_warnings(again)
    assert not torch.isfinite(theta.grad).all()


@pytest.mark.parametrize('backend', BACKENDS)
def test_overflowing_gradient_warns(backend):
    """A finite output whose gradient overflows (here from a huge but finite
    incoming gradient) is reported too; a non-finite incoming gradient is
    not the op's fault and is not."""
    T = CPAB((4, 4), backend=backend)
    theta = T.sample_theta(2, generator=torch.Generator().manual_seed(0)).requires_grad_()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        out = T.transform_grid(theta, (8, 8))
        out.backward(torch.full_like(out, float('nan')))
    assert not overflow_warnings(record)
    with pytest.warns(CPABOverflowWarning, match='finite thetas .* gave a non-finite '
                                                 'torch.float32 gradient'):
        T.transform_grid(theta, (8, 8)).backward(torch.full_like(out, 3e38))


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('zero_boundary', [False, True])
def test_finite_calls_warn_nothing_and_keep_their_values_and_gradients(backend, zero_boundary):
    T = CPAB((3, 3), zero_boundary=zero_boundary, backend=backend)
    theta = T.sample_theta(4, generator=torch.Generator().manual_seed(1),
                           dtype=torch.float64).requires_grad_()
    points = (torch.rand(4, 30, 2, generator=torch.Generator().manual_seed(2),
                         dtype=torch.float64) * 1.4 - 0.2).requires_grad_()
    weights = torch.randn(4, 30, 2, generator=torch.Generator().manual_seed(3),
                          dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        out = T.transform(theta, points)
        grads = torch.autograd.grad((out * weights).sum(), (theta, points))
    # the same computation without the checks' code path
    integrate = (reference.integrate if backend == 'torch' else function.compiled_integrate)
    if zero_boundary:
        inside = points.clamp(0, 1)
        expected = integrate(T.theta_to_A(theta), inside, T.nc) + (points - inside)
    else:
        expected = integrate(T.theta_to_A(theta), points, T.nc)
    assert torch.equal(out, expected)
    for got, want in zip(grads, torch.autograd.grad((expected * weights).sum(),
                                                    (theta, points))):
        assert torch.equal(got, want)


@pytest.mark.skipif(not function.compiled_available(torch.device('cpu')),
                    reason='cpabmm._ext is not built')
@pytest.mark.parametrize('device', ['cpu', pytest.param('cuda', marks=pytest.mark.cuda)])
def test_kernels_stop_nan_and_huge_fields_without_crashing(device):
    """What an unchecked call (a CUDA tensor by default) gets: nan in, nan
    out, only for the transformations concerned; the kernels (the same code
    on both devices) stop such trajectories instead of looping."""
    T = CPAB((4, 4), device=device)
    theta = torch.zeros(3, T.dim, dtype=torch.float64, device=device)
    theta[1] = float('nan')
    theta[2] = 1e6
    A = T.theta_to_A(theta).requires_grad_()
    points = T.uniform_grid((6, 6), dtype=torch.float64, device=device)
    out = function.compiled_integrate(A, points, T.nc)
    torch.testing.assert_close(out[0], points)
    assert out[1].isnan().all()
    out[0].sum().backward()
    assert torch.isfinite(A.grad[0]).all()


@pytest.mark.cuda
def test_cuda_tensors_are_not_checked_by_default_and_never_synchronised():
    if not function.compiled_available(torch.device('cuda')):
        pytest.skip('no CUDA kernels built (the reference path synchronises)')
    T = CPAB((4, 4), device='cuda')
    theta = T.sample_theta(3, device='cuda').requires_grad_()
    grid = (8, 8)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try:
        out = T.transform_grid(theta, grid)
        out.sum().backward()
        bad = torch.full_like(theta, float('nan'))
        nan_out = T.transform_grid(bad, grid)         # no check: nan in, nan out
    finally:
        torch.cuda.set_sync_debug_mode('default')
    assert nan_out.isnan().all() and torch.isfinite(out).all()


@pytest.mark.cuda
def test_cuda_checks_when_switched_on():
    T = CPAB((4, 4), device='cuda')
    previous = set_finite_checks(True)
    try:
        with pytest.raises(ValueError, match=r'theta has non-finite values .* rows \[0\] of 1'):
            T.transform_grid(torch.full((1, T.dim), float('nan'), device='cuda'), (8, 8))
        with pytest.warns(CPABOverflowWarning, match='overflowed'):
            out = T.transform_grid(torch.full((1, T.dim), 1e3, device='cuda'), (8, 8))
        assert not torch.isfinite(out).all()
    finally:
        set_finite_checks(previous)


def test_environment_variable_switches_the_checks_on_every_device():
    code = ('from cpabmm.ops.cpab import checks, set_finite_checks; import torch; '
            'print(checks.checked(torch.empty(0, device="meta")), set_finite_checks(False), '
            'checks.checked(torch.empty(0, device="meta")), checks.checked(torch.empty(0)))')
    for value, expected in (('1', 'True True False True'), ('', 'False False False True')):
        result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                                env={**os.environ, checks.ENV: value},
                                check=True)
        assert result.stdout.split('\n')[-2] == expected
