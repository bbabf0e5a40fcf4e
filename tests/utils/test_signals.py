"""SIGTERM and SIGHUP raise ``Terminated`` (a KeyboardInterrupt) inside
``terminate_as_interrupt``, so cleanup runs; handlers are restored after."""
import os
import signal

import pytest

from cpabmm.utils.signals import Terminated, interrupted_status, terminate_as_interrupt


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGHUP])
def test_signal_raises_and_cleanup_runs(signum):
    cleaned = []
    before = signal.getsignal(signum)
    with pytest.raises(Terminated) as excinfo:
        with terminate_as_interrupt():
            try:
                os.kill(os.getpid(), signum)
                signal.sigtimedwait([], 0)  # let the handler run
            finally:
                cleaned.append(True)
    assert cleaned == [True] and isinstance(excinfo.value, KeyboardInterrupt)
    assert interrupted_status(excinfo.value) == 128 + signum
    assert signal.getsignal(signum) is before


def test_ctrl_c_status():
    assert interrupted_status(KeyboardInterrupt()) == 130


def test_decorator_form():
    @terminate_as_interrupt()
    def work():
        return signal.getsignal(signal.SIGTERM)

    assert work() is not signal.getsignal(signal.SIGTERM)
