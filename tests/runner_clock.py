"""Runners that start within the same second, as short runs on a fast machine do."""
import pytest
from mmengine.runner import Runner

#: the start time of every Runner built under :func:`same_second`
TIMESTAMP = '20260101_000000'


def same_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Runner built meanwhile gets :data:`TIMESTAMP`, so runs of one
    config get the same experiment name (``<config>_<timestamp>``)."""
    setup_env = Runner.setup_env

    def frozen(runner: Runner, env_cfg: dict) -> None:
        setup_env(runner, env_cfg)
        runner._timestamp = TIMESTAMP

    monkeypatch.setattr(Runner, 'setup_env', frozen)
