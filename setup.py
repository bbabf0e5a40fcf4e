"""Install cpabmm: ``pip install --no-build-isolation -e .``.

``--no-build-isolation`` builds the compiled ops against the torch that is
already installed (an isolated build would fetch another torch).
"""
import os
import os.path as osp
from glob import glob
from typing import List

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


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


def get_extensions() -> list:
    """The compiled ops: C++ always, CUDA when available or ``FORCE_CUDA=1``.

    Returns an empty list when torch is not installed yet (metadata-only
    builds); the Python fallbacks then serve every op.
    """
    try:
        import torch
        from torch.utils.cpp_extension import (CUDA_HOME, CppExtension,
                                               CUDAExtension)
    except ImportError:
        return []
    csrc = osp.join('cpabmm', 'ops', 'csrc')
    cpp_sources = sorted(glob(osp.join(csrc, '**', '*.cpp'), recursive=True))
    cuda_sources = sorted(glob(osp.join(csrc, '**', '*.cu'), recursive=True))
    if not cpp_sources:
        return []
    want_cuda = torch.cuda.is_available() or os.environ.get('FORCE_CUDA') == '1'
    with_cuda = bool(want_cuda and CUDA_HOME is not None and cuda_sources)
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


def get_cmdclass() -> dict:
    try:
        from torch.utils.cpp_extension import BuildExtension
    except ImportError:
        return {}
    return {'build_ext': BuildExtension}


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
    },
    ext_modules=get_extensions(),
    cmdclass=get_cmdclass(),
    zip_safe=False,
)
