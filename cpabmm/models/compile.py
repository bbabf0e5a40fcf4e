"""``torch.compile`` for the networks of an animation model (``--compile``).

:func:`compile_model` compiles, in place, the forward of each fixed-shape
network of an :class:`~cpabmm.models.ImageAnimator`: the keypoint detector,
the dense motion network, the generator and the background predictor (when
the model has one). The motion model stays eager: its ``fit``, ``warp`` and
``warp_points`` are wrapped in :func:`torch.compiler.disable`, so the
keypoint fits (linear solves, the CPAB op's C++/CUDA kernels and custom
autograd Function) run as they do without compilation, also where a compiled
network calls them (the dense motion network warps its grid by the motion
model). Everything else (the animator's glue, losses, metrics) is unchanged.

The parameters, buffers and ``state_dict`` keys stay those of the eager
model, so checkpoints load and save alike, before and after compiling.

Mode by device (``mode='auto'``):

* CPU: Inductor's default mode (C++/OpenMP kernels; needs a C++ compiler).
* CUDA: ``'max-autotune-no-cudagraphs'``: Triton kernels, autotuned on the
  first calls (minutes for a 256-px model; Inductor's caches make later runs
  start faster), without CUDA graphs. ``'reduce-overhead'`` (CUDA graphs)
  is not the default: a CUDA graph's outputs live in memory that its next
  replay overwrites, and the animator holds them across calls (the source
  keypoints while the driving frame's are detected, the initial driving
  frame's keypoints for every frame of a demo); pass ``mode='reduce-overhead'``
  to try it (it then sets Inductor's ``cudagraph_trees_generation_cloning``,
  which copies such outputs out of the graphs' memory, where this torch has
  it).

Compilation happens on the first call of each network and again for each
new variant: train and eval mode, another batch size (then with dynamic
shapes), another dtype or device.
"""
from __future__ import annotations

import functools
import types
from typing import Any, Optional, Tuple, Union

import torch
from torch import nn

#: the networks compiled, by attribute of the animator
COMPILED_PARTS = ('keypoint_detector', 'dense_motion', 'generator', 'background')
#: the motion model's methods kept eager
EAGER_MOTION_METHODS = ('fit', 'warp', 'warp_points')
#: ``mode='auto'``: the ``torch.compile`` mode per device type (None: default)
AUTO_MODES = {'cpu': None, 'cuda': 'max-autotune-no-cudagraphs'}
#: what a compiled network's instance attributes record
_MODE_ATTR = '_cpabmm_compile_mode'


class CompileUnavailableError(RuntimeError):
    """``torch.compile`` cannot run here; ``needs`` says what is missing
    (``'--compile needs ' + needs`` reads as a sentence)."""

    def __init__(self, needs: str):
        self.needs = needs
        super().__init__(f'torch.compile needs {needs}')


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else ''
    return f'{type(error).__name__}: {text}' if text else type(error).__name__


def _smoke_test(device: torch.device) -> None:
    """Compile and run a two-op function on ``device``."""
    compiled = torch.compile(lambda x: torch.sin(x) * 2 + 1, dynamic=False)
    x = torch.linspace(-1, 1, 8, device=device)
    if not torch.allclose(compiled(x), torch.sin(x) * 2 + 1):
        raise RuntimeError('the compiled test function gave wrong values')


@functools.lru_cache(maxsize=None)
def _check(device_type: str, index: Optional[int]) -> None:
    device = torch.device(device_type, index)
    if not hasattr(torch, 'compile'):
        raise CompileUnavailableError(f'PyTorch 2 or newer (this is {torch.__version__})')
    try:
        from torch._dynamo.eval_frame import check_if_dynamo_supported
        check_if_dynamo_supported()
    except Exception as error:  # Python version or build without Dynamo support
        raise CompileUnavailableError(f'a Python that TorchDynamo supports ({error})') from None
    if device.type == 'cpu':
        from torch._inductor.cpp_builder import get_cpp_compiler
        try:
            get_cpp_compiler()
        except Exception:
            raise CompileUnavailableError(
                'a C++ compiler on the PATH (g++ or clang++, or set CXX) for Inductor\'s CPU '
                'kernels, e.g. apt install g++') from None
    elif device.type == 'cuda':
        from torch.utils._triton import has_triton
        if not has_triton():
            raise CompileUnavailableError(
                'Triton for Inductor\'s CUDA kernels (pip install triton, the version of your '
                f'torch {torch.__version__}), and a GPU it supports (compute capability 7.0+)')
    else:
        raise CompileUnavailableError(f'a CPU or CUDA device (got {device.type})')
    try:
        _smoke_test(device)
    except Exception as error:  # the compiler or its toolchain fails here
        raise CompileUnavailableError(
            f'a working Inductor on {device.type} (a test compile failed with '
            f'{_one_line(error)})') from None


def check_compile_available(device: Union[str, torch.device] = 'cpu') -> None:
    """Raise :class:`CompileUnavailableError` (one line) unless
    ``torch.compile`` with Inductor works on ``device``: Dynamo supports this
    Python, a C++ compiler (CPU) or Triton (CUDA) is there, and a small test
    function compiles and runs. Cached per device."""
    device = torch.device(device)
    _check(device.type, device.index)


def auto_mode(device: Union[str, torch.device]) -> Optional[str]:
    """The ``torch.compile`` mode of ``mode='auto'`` on ``device``."""
    return AUTO_MODES.get(torch.device(device).type)


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model inside a distributed wrapper (DDP and MMEngine's)."""
    from mmengine.model import is_model_wrapper
    return model.module if is_model_wrapper(model) else model


def _compile_forward(module: nn.Module, mode: Optional[str], options: dict) -> None:
    """Replace ``module.forward`` (on the instance) by the compiled class
    ``forward`` bound to it: one compiled code object per network class,
    and a deep copy of the module is bound to the copy."""
    module.__dict__.pop('forward', None)
    compiled = torch.compile(type(module).forward, mode=mode, **options)
    module.forward = types.MethodType(compiled, module)
    setattr(module, _MODE_ATTR, mode)


def _keep_eager(module: nn.Module, name: str) -> None:
    method = getattr(type(module), name, None)
    if method is not None and name not in module.__dict__:
        setattr(module, name, types.MethodType(torch.compiler.disable(method), module))


def compile_model(model: nn.Module, device: Optional[Union[str, torch.device]] = None,
                  mode: Optional[str] = 'auto', check: bool = True,
                  **options: Any) -> nn.Module:
    """Compile the networks of an animation model in place with
    ``torch.compile`` (see the module docstring); returns ``model``.

    Args:
        model: an :class:`~cpabmm.models.ImageAnimator`, possibly inside a
            distributed wrapper; its parts named in ``COMPILED_PARTS`` that it
            has are compiled.
        device: where the model runs (default: its parameters' device); it
            picks the mode and what :func:`check_compile_available` checks.
        mode: a ``torch.compile`` mode, or ``'auto'`` (``AUTO_MODES``).
        check: run :func:`check_compile_available` first (a one-line error
            now instead of a long one on the first forward).
        options: further ``torch.compile`` arguments (``backend``,
            ``dynamic``, ``fullgraph``...).

    Raises:
        CompileUnavailableError: ``torch.compile`` cannot run on ``device``.
    """
    animator = unwrap_model(model)
    if device is None:
        device = next(animator.parameters()).device
    device = torch.device(device)
    if check and options.get('backend', 'inductor') == 'inductor':
        check_compile_available(device)
    if mode == 'auto':
        mode = auto_mode(device)
    if mode == 'reduce-overhead':
        _clone_cudagraph_outputs()
    for name in COMPILED_PARTS:
        module = getattr(animator, name, None)
        if module is not None:
            _compile_forward(module, mode, options)
    motion = getattr(animator, 'motion', None)
    if motion is not None:
        for name in EAGER_MOTION_METHODS:
            _keep_eager(motion, name)
    return model


def _clone_cudagraph_outputs() -> None:
    """CUDA graphs: copy outputs still held when a graph runs again (where
    this torch has the option)."""
    from torch._inductor import config
    for scope in (config, getattr(config, 'triton', None)):
        if scope is not None and hasattr(scope, 'cudagraph_trees_generation_cloning'):
            scope.cudagraph_trees_generation_cloning = 'user_visible'
            return


def compiled_parts(model: nn.Module) -> Tuple[str, ...]:
    """The networks of ``model`` that :func:`compile_model` compiled."""
    animator = unwrap_model(model)
    return tuple(name for name in COMPILED_PARTS
                 if hasattr(getattr(animator, name, None), _MODE_ATTR))
