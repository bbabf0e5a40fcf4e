"""Building the runner of a config, the same way for every tool."""
from mmengine.config import Config
from mmengine.runner import Runner

from cpabmm.registry import RUNNERS
from .distributed import prepare_cpu_distributed


def build_runner(cfg: Config) -> Runner:
    """The runner of ``cfg`` (its ``runner_type``, else MMEngine's
    :class:`~mmengine.runner.Runner`), after the CPU-only distributed set-up
    (:func:`prepare_cpu_distributed`)."""
    prepare_cpu_distributed(cfg)
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
