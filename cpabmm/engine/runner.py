"""Building the runner of a config, the same way for every tool."""
from typing import Any

from mmengine.config import Config
from mmengine.runner import Runner

from cpabmm.registry import RUNNERS
from .config import ConfigError
from .distributed import prepare_cpu_distributed


def compile_options(compile_cfg: Any) -> dict:
    """:func:`cpabmm.models.compile.compile_model` keyword arguments of a
    config's ``compile`` entry: ``True`` (the device's mode) or a dict of
    ``torch.compile`` arguments (``mode``, ``backend``, ``dynamic``, ...)."""
    if compile_cfg is True:
        return {}
    if isinstance(compile_cfg, dict):
        return dict(compile_cfg)
    raise ConfigError(f'compile must be True, False or a dict of torch.compile arguments, '
                      f'got {compile_cfg!r}')


def apply_compile(runner: Runner, compile_cfg: Any) -> None:
    """Compile the networks of the runner's animation model in place
    (:func:`cpabmm.models.compile.compile_model`: keypoint detector, dense
    motion network, generator, background predictor; the motion model's
    fit stays eager), for training, validation and testing alike, and take
    ``compile`` off the runner's config: MMEngine's Runner would otherwise
    ``torch.compile`` the whole ``train_step`` (optimiser steps, the CPAB
    op and all) at ``train()``.

    Raises:
        ConfigError: ``torch.compile`` cannot run on the runner's device.
    """
    from cpabmm.models.compile import CompileUnavailableError, compile_model
    try:
        compile_model(runner.model, **compile_options(compile_cfg))
    except CompileUnavailableError as error:
        raise ConfigError(f'compile={compile_cfg!r} needs {error.needs}') from None
    runner.cfg.compile = None


def enable_compile(cfg: Config, option: str = '--compile') -> None:
    """A tool's ``--compile``: check now that ``torch.compile`` works on the
    device the runner will use (:func:`mmengine.device.get_device`), then set
    ``cfg.compile`` (keeping a dict of ``torch.compile`` arguments the
    config has) for :func:`build_runner`.

    Raises:
        ConfigError: ``<option> needs ...`` (a C++ compiler, Triton, ...).
    """
    from mmengine.device import get_device

    from cpabmm.models.compile import CompileUnavailableError, check_compile_available
    try:
        check_compile_available(get_device())
    except CompileUnavailableError as error:
        raise ConfigError(f'{option} needs {error.needs}') from None
    if not cfg.get('compile'):
        cfg.compile = True


def build_runner(cfg: Config) -> Runner:
    """The runner of ``cfg`` (its ``runner_type``, else MMEngine's
    :class:`~mmengine.runner.Runner`), after the CPU-only distributed set-up
    (:func:`prepare_cpu_distributed`). An animation model with ``compile``
    set (``True`` or a dict of ``torch.compile`` arguments; ``--compile`` of
    the tools) has its networks compiled (:func:`apply_compile`)."""
    from cpabmm.models import ImageAnimator
    from cpabmm.models.compile import unwrap_model
    prepare_cpu_distributed(cfg)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    compile_cfg = cfg.get('compile')
    if compile_cfg not in (None, False) and isinstance(unwrap_model(runner.model),
                                                       ImageAnimator):
        apply_compile(runner, compile_cfg)
    return runner
