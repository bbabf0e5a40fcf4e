"""Install cpabmm: ``pip install --no-build-isolation -e .``.

``--no-build-isolation`` builds the compiled ops against the torch that is
already installed (an isolated build would fetch another torch).
"""
import os
import os.path as osp
import re
import shutil
import subprocess
from glob import glob
from typing import List, NoReturn, Optional, Tuple

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
# CPABMM_WITH_OPS=0 installs the pure-PyTorch path on purpose (no compiled op)
OPS_VARIABLE = 'CPABMM_WITH_OPS'
FIX_NO_OPS = (f'`{OPS_VARIABLE}=0 pip install --no-build-isolation -e .` to install '
              'the pure-PyTorch path on purpose')


def read_requirements(name: str) -> List[str]:
    """Requirement lines of ``requirements/<name>.txt`` without comments."""
    with open(osp.join(HERE, 'requirements', f'{name}.txt')) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


def read_version() -> str:
    namespace: dict = {}
    with open(osp.join(HERE, 'cpabmm', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def default_cuda_arch_flags(torch) -> List[str]:
    """nvcc flags for the architectures this torch supports, used when no GPU
    is visible and ``TORCH_CUDA_ARCH_LIST`` is unset (torch would otherwise
    build for the visible GPUs only, and fails when there are none)."""
    if os.environ.get('TORCH_CUDA_ARCH_LIST') or torch.cuda.is_available():
        return []
    archs = sorted({a.split('_')[1] for a in torch.cuda.get_arch_list()
                    if a.startswith('sm_')}, key=int)
    flags = [f'-gencode=arch=compute_{a},code=sm_{a}' for a in archs]
    if archs:  # PTX of the newest one, for GPUs newer than this torch
        flags.append(f'-gencode=arch=compute_{archs[-1]},code=compute_{archs[-1]}')
    return flags


def fail(problem: str) -> NoReturn:
    """Stop the install with one line naming the problem and the fix."""
    raise SystemExit(f'error: cpabmm: {problem}')


def import_torch():
    """The environment's torch, or a failed install that says how to get it."""
    try:
        import torch
    except ImportError:
        fail('torch is not importable in the build environment, so the compiled '
             'CPAB op cannot be built; install torch first, then run '
             f'`pip install --no-build-isolation -e .`, or use {FIX_NO_OPS}')
    return torch


def nvcc_release(cuda_home: str) -> Optional[str]:
    """The ``major.minor`` release of ``cuda_home``'s nvcc, if it runs."""
    try:
        out = subprocess.run([osp.join(cuda_home, 'bin', 'nvcc'), '--version'],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    match = re.search(r'release (\d+\.\d+)', out)
    return match.group(1) if match else None


def has_cuda_runtime(root: str) -> bool:
    """Whether ``root`` is a CUDA toolkit: nvcc and the CUDA runtime library."""
    libraries = (glob(osp.join(root, 'lib*', 'libcudart.so*'))
                 + glob(osp.join(root, 'targets', '*', 'lib', 'libcudart.so*')))
    return osp.isfile(osp.join(root, 'bin', 'nvcc')) and bool(libraries)


def find_cuda_home() -> Optional[str]:
    """The CUDA toolkit to build with: ``CUDA_HOME``/``CUDA_PATH`` when set,
    else the first toolkit with nvcc and its runtime among nvcc's folder on
    the ``PATH`` (followed through links) and ``/usr/local/cuda``.

    torch takes the folder above the first ``nvcc`` on the ``PATH``, which is
    wrong where that ``nvcc`` is a wrapper script (e.g. ``/usr/local/bin``).
    """
    for variable in ('CUDA_HOME', 'CUDA_PATH'):
        if os.environ.get(variable):
            return os.environ[variable]
    nvcc = shutil.which('nvcc')
    candidates = [osp.dirname(osp.dirname(osp.realpath(nvcc)))] if nvcc else []
    for root in candidates + ['/usr/local/cuda']:
        if has_cuda_runtime(root):
            return root
    return None


def cuda_build_reason(torch, cuda_home: Optional[str]) -> Tuple[bool, str]:
    """Whether to build the CUDA kernels, and why (or why not).

    They are built when nvcc's major release matches torch's CUDA, or when
    ``FORCE_CUDA=1`` (which fails without a CUDA toolkit); ``FORCE_CUDA=0``
    builds the C++ op alone.
    """
    if os.environ.get('FORCE_CUDA') == '0':
        return False, 'FORCE_CUDA=0'
    forced = os.environ.get('FORCE_CUDA') == '1'
    if forced and cuda_home is None:
        fail('FORCE_CUDA=1 but no CUDA toolkit was found; set CUDA_HOME to the '
             'folder holding bin/nvcc')
    if forced:
        return True, 'FORCE_CUDA=1'
    if torch.version.cuda is None:
        return False, f'torch {torch.__version__} has no CUDA'
    if cuda_home is None:
        return False, 'no CUDA toolkit (nvcc) found; set CUDA_HOME'
    release = nvcc_release(cuda_home)
    if release is None or release.split('.')[0] != torch.version.cuda.split('.')[0]:
        return False, (f'nvcc {release} does not match torch\'s CUDA '
                       f'{torch.version.cuda}; FORCE_CUDA=1 builds it anyway')
    return True, f'nvcc {release} matches torch\'s CUDA {torch.version.cuda}'


def get_extensions() -> list:
    """The compiled ops: C++ always, CUDA when nvcc matches torch's CUDA or
    ``FORCE_CUDA=1``; none with ``CPABMM_WITH_OPS=0``.

    Anything that prevents the build (no torch, no C++ compiler) fails the
    install with one line: the op is never silently left out.
    """
    if os.environ.get(OPS_VARIABLE, '1') == '0':
        print(f'cpabmm: {OPS_VARIABLE}=0, installing without the compiled CPAB op '
              '(the PyTorch reference path serves it)')
        return []
    compiler = os.environ.get('CXX', 'c++').split()[0]
    if shutil.which(compiler) is None:
        fail(f'no C++ compiler ({compiler!r}) found to build the CPAB op; install '
             f'one (e.g. `apt-get install g++`) or use {FIX_NO_OPS}')
    torch = import_torch()
    cuda_home = find_cuda_home()
    if cuda_home is not None:  # read by torch.utils.cpp_extension on import
        os.environ['CUDA_HOME'] = cuda_home
    from torch.utils.cpp_extension import CppExtension, CUDAExtension
    csrc = osp.join('cpabmm', 'ops', 'csrc')
    cpp_sources = sorted(glob(osp.join(csrc, '**', '*.cpp'), recursive=True))
    cuda_sources = sorted(glob(osp.join(csrc, '**', '*.cu'), recursive=True))
    with_cuda, reason = cuda_build_reason(torch, cuda_home)
    print(f'cpabmm: building the CPAB op for the CPU{" and CUDA" if with_cuda else ""} '
          f'against torch {torch.__version__} (CUDA kernels: {reason})')
    # -g0: no debug information (Python's CFLAGS ask for it), a quicker build
    extra_compile_args = {'cxx': ['-O3', '-g0', '-fopenmp']}
    define_macros = []
    extension = CppExtension
    sources = cpp_sources
    if with_cuda:
        extension = CUDAExtension
        sources = cpp_sources + cuda_sources
        define_macros.append(('WITH_CUDA', None))
        extra_compile_args['nvcc'] = ['-O3'] + default_cuda_arch_flags(torch)
    return [
        extension(
            name='cpabmm._ext',
            sources=sources,
            include_dirs=[osp.abspath(csrc)],
            define_macros=define_macros,
            extra_compile_args=extra_compile_args,
            extra_link_args=['-fopenmp'])
    ]


def get_cmdclass(extensions: list) -> dict:
    """``build_ext`` that turns a failed compilation into one closing line."""
    if not extensions:
        return {}
    from torch.utils.cpp_extension import BuildExtension

    class BuildOps(BuildExtension):

        def run(self) -> None:
            try:
                super().run()
            except Exception as error:  # compiler and linker errors alike
                fail(f'building the compiled CPAB op failed ({error}); see the '
                     f'compiler output above, fix the tool chain, or use {FIX_NO_OPS}')

    return {'build_ext': BuildOps}


EXTENSIONS = get_extensions()
with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
    long_description = f.read()

setup(
    name='cpabmm',
    version=read_version(),
    description='Image animation with continuous piecewise-affine (CPAB), '
    'thin-plate spline and affine motion models on MMEngine',
    long_description=long_description,
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.10',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    include_package_data=True,
    install_requires=read_requirements('runtime'),
    extras_require={
        'tests': read_requirements('tests'),
        'optional': read_requirements('optional'),
        'onnx': read_requirements('onnx'),
        'webui': read_requirements('webui'),
    },
    ext_modules=EXTENSIONS,
    cmdclass=get_cmdclass(EXTENSIONS),
    zip_safe=False,
)
