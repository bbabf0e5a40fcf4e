"""Termination signals handled like Ctrl-C.

Python turns SIGINT into ``KeyboardInterrupt``, so the cleanup of every
``try``/``finally`` and context manager runs (temporary files removed, nothing
half-written published). SIGTERM (what ``kill``, job schedulers and container
runtimes send) and SIGHUP end the process at once instead, leaving temporary
files behind. Inside :func:`terminate_as_interrupt` they raise
:class:`Terminated`, a ``KeyboardInterrupt``, so the same cleanup runs.
"""
import signal
import threading
from contextlib import contextmanager
from typing import Iterator, Tuple

TERMINATION_SIGNALS: Tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """A termination signal received while a tool was working."""

    def __init__(self, signum: int):
        super().__init__(f'terminated by {signal.Signals(signum).name}')
        self.signum = signum


def _raise_terminated(signum: int, frame) -> None:
    raise Terminated(signum)


def interrupted_status(error: KeyboardInterrupt) -> int:
    """The shell's exit status for an interruption: 128 + the signal number
    (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + getattr(error, 'signum', signal.SIGINT)


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within: SIGTERM and SIGHUP raise :class:`Terminated` in the main thread;
    the previous handlers come back on exit. Does nothing outside the main
    thread (where Python cannot install handlers). Also a decorator:
    ``@terminate_as_interrupt()``."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _raise_terminated)
                for signum in TERMINATION_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
