"""The build declared by setup.py: the compiled op is never silently left out.

setup.py is run with ``setuptools.setup`` replaced by a recorder, so these
tests see what an install would build without building it.
"""
import os
import os.path as osp
import runpy
import stat
import sys
from types import SimpleNamespace

import pytest
import setuptools

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run_setup(monkeypatch, **env):
    """setup.py's namespace and the arguments it passed to ``setup()``."""
    for name in ('CPABMM_WITH_OPS', 'FORCE_CUDA', 'CUDA_HOME', 'CUDA_PATH', 'CXX'):
        monkeypatch.delenv(name, raising=False)  # restored after the test
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    calls = []
    monkeypatch.setattr(setuptools, 'setup', lambda **kwargs: calls.append(kwargs))
    monkeypatch.chdir(REPO)
    namespace = runpy.run_path(osp.join(REPO, 'setup.py'))
    return namespace, calls[0]


def one_line_error(excinfo) -> str:
    message = str(excinfo.value.code)
    assert message.startswith('error: cpabmm: ') and '\n' not in message
    return message


def executable(path: str, text: str) -> str:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)
    return path


def test_the_compiled_op_is_declared(monkeypatch):
    _, kwargs = run_setup(monkeypatch)
    (extension,) = kwargs['ext_modules']
    assert extension.name == 'cpabmm._ext'
    assert osp.join('cpabmm', 'ops', 'csrc', 'cpab', 'cpab_cpu.cpp') in extension.sources
    assert 'build_ext' in kwargs['cmdclass']


def test_opting_out_installs_the_reference_path(monkeypatch):
    _, kwargs = run_setup(monkeypatch, CPABMM_WITH_OPS='0')
    assert kwargs['ext_modules'] == [] and kwargs['cmdclass'] == {}


def test_no_compiler_fails_and_names_the_opt_out(monkeypatch):
    with pytest.raises(SystemExit) as excinfo:
        run_setup(monkeypatch, CXX='/nonexistent/c++')
    message = one_line_error(excinfo)
    assert 'no C++ compiler' in message and 'CPABMM_WITH_OPS=0' in message


def test_unimportable_torch_fails_and_names_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, 'torch', None)   # import torch -> ImportError
    with pytest.raises(SystemExit) as excinfo:
        run_setup(monkeypatch)
    message = one_line_error(excinfo)
    assert 'torch is not importable' in message and '--no-build-isolation' in message


def test_pyproject_declares_the_build_without_torch():
    import tomllib
    with open(osp.join(REPO, 'pyproject.toml'), 'rb') as f:
        build = tomllib.load(f)['build-system']
    assert build['build-backend'] == 'setuptools.build_meta'
    assert not [r for r in build['requires'] if r.lower().startswith('torch')]


@pytest.fixture
def setup_functions(monkeypatch):
    return run_setup(monkeypatch, CPABMM_WITH_OPS='0')[0]


def test_cuda_home_follows_a_linked_nvcc_and_skips_a_wrapper(setup_functions, tmp_path,
                                                             monkeypatch):
    find_cuda_home = setup_functions['find_cuda_home']
    toolkit = tmp_path / 'cuda-13.0'
    executable(str(toolkit / 'bin' / 'nvcc'), '#!/bin/sh\necho "release 13.0, V13.0.88"\n')
    (toolkit / 'lib64').mkdir()
    (toolkit / 'lib64' / 'libcudart.so').write_text('')
    linked = tmp_path / 'linked' / 'bin'
    linked.mkdir(parents=True)
    os.symlink(toolkit / 'bin' / 'nvcc', linked / 'nvcc')
    monkeypatch.setenv('PATH', str(linked))
    assert find_cuda_home() == str(toolkit)
    # a wrapper script: the folder above it has no CUDA runtime
    wrapper = executable(str(tmp_path / 'wrapper' / 'bin' / 'nvcc'),
                         f'#!/bin/sh\nexec {toolkit}/bin/nvcc "$@"\n')
    monkeypatch.setenv('PATH', osp.dirname(wrapper))
    assert find_cuda_home() != str(tmp_path / 'wrapper')
    monkeypatch.setenv('CUDA_HOME', str(tmp_path / 'chosen'))
    assert find_cuda_home() == str(tmp_path / 'chosen')


@pytest.mark.parametrize('torch_cuda, build', [('13.0', True), ('13.2', True),
                                               ('12.8', False), (None, False)])
def test_cuda_kernels_build_when_nvcc_matches_torch(setup_functions, tmp_path, torch_cuda,
                                                    build):
    executable(str(tmp_path / 'bin' / 'nvcc'), '#!/bin/sh\necho "release 13.0, V13.0.88"\n')
    torch = SimpleNamespace(__version__='2.x', version=SimpleNamespace(cuda=torch_cuda))
    with_cuda, reason = setup_functions['cuda_build_reason'](torch, str(tmp_path))
    assert with_cuda == build and reason


def test_force_cuda(setup_functions, tmp_path, monkeypatch):
    torch = SimpleNamespace(__version__='2.x', version=SimpleNamespace(cuda=None))
    monkeypatch.setenv('FORCE_CUDA', '1')
    assert setup_functions['cuda_build_reason'](torch, str(tmp_path))[0]
    monkeypatch.setenv('FORCE_CUDA', '0')
    assert setup_functions['cuda_build_reason'](torch, str(tmp_path)) == (False, 'FORCE_CUDA=0')
    monkeypatch.setenv('FORCE_CUDA', '1')
    with pytest.raises(SystemExit) as excinfo:
        setup_functions['cuda_build_reason'](torch, None)
    assert 'CUDA_HOME' in one_line_error(excinfo)
