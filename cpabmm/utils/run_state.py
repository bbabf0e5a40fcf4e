"""One run's share of MMEngine's process-wide state, released when it ends.

MMEngine keeps its loggers, message hubs, visualizers and default scopes in
process-wide tables keyed by name, and a Runner names its own
``<config>_<YYYYmmdd_HHMMSS>``. Nothing removes them, so in one process a
second run of the same config within the same second is handed the first
run's message hub (loss history included), visualizer and logger, whose
console handler writes to the ``sys.stdout`` of the first run, possibly
closed since (pytest closes each test's captured stream). Tools wrap their
``main`` in :func:`fresh_run_state`; code that builds Runners itself should
do the same around each run.
"""
import logging
from contextlib import contextmanager
from typing import Iterator, List

from mmengine.utils import ManagerMixin


def managed_classes() -> List[type]:
    """Every loaded class with a table of MMEngine's named global instances."""
    found, pending = [], [ManagerMixin]
    while pending:
        subclasses = pending.pop().__subclasses__()
        found.extend(subclasses)
        pending.extend(subclasses)
    return found


def release(instance: ManagerMixin) -> None:
    """Close what a dropped instance holds: a logger's handlers (its log file
    among them), a visualizer's backends."""
    if isinstance(instance, logging.Logger):
        for handler in list(instance.handlers):
            instance.removeHandler(handler)
            handler.close()
    elif callable(getattr(instance, 'close', None)):
        instance.close()


@contextmanager
def fresh_run_state() -> Iterator[None]:
    """On exit, drop and close the MMEngine global instances (loggers, message
    hubs, visualizers, default scopes) created meanwhile, so that the next run
    in this process creates its own; those that existed before are kept.
    Also a decorator: ``@fresh_run_state()``."""
    before = {cls: dict(cls._instance_dict) for cls in managed_classes()}
    try:
        yield
    finally:
        for cls in managed_classes():
            kept = before.get(cls, {})
            for name, instance in list(cls._instance_dict.items()):
                if kept.get(name) is not instance:
                    del cls._instance_dict[name]
                    release(instance)
