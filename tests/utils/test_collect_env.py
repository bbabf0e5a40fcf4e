"""``python -m cpabmm.utils.collect_env``: the report and the backend checks."""
import pytest
import torch

from cpabmm.ops.cpab import function
from cpabmm.utils import collect_env

needs_compiled_cpu = pytest.mark.skipif(
    not function.compiled_available(torch.device('cpu')),
    reason=f'cpabmm._ext is not built ({function.BUILD_COMMAND})')


@needs_compiled_cpu
def test_report_names_the_backend_and_checks_it(capsys):
    assert collect_env.main([]) == 0
    out = capsys.readouterr().out
    assert 'PyTorch: ' + torch.__version__ in out and 'cpabmm: ' in out
    assert 'CPAB op (cpu): compiled C++' in out
    check = next(line for line in out.splitlines() if line.startswith('CPAB check (cpu)'))
    assert check.startswith('CPAB check (cpu): ok: max difference')
    assert float(check.split('difference ')[1].split()[0]) <= collect_env.CHECK_TOLERANCE


@needs_compiled_cpu
def test_a_wrong_compiled_flow_fails_the_check(capsys, monkeypatch):
    integrate = function.compiled_integrate
    monkeypatch.setattr(function, 'compiled_integrate',
                        lambda A, points, nc: integrate(A, points, nc) + 1e-6)
    assert collect_env.main([]) == 1
    captured = capsys.readouterr()
    assert 'CPAB check (cpu): FAILED' in captured.out
    assert 'disagrees with the reference' in captured.err


def test_missing_op_is_reported_and_required_on_request(capsys, monkeypatch):
    monkeypatch.setattr(function, 'load_ext', lambda: None)
    assert collect_env.main([]) == 0
    assert 'CPAB op (cpu): PyTorch reference (cpabmm._ext is not built' in \
        capsys.readouterr().out
    assert collect_env.main(['--require-ops']) == 1
    assert function.BUILD_COMMAND in capsys.readouterr().err
