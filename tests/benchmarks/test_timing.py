"""The timing helpers of the benchmarks: measure, CallTimer, Timing."""
import time

import pytest

from cpabmm.benchmarks import CallTimer, Timing, measure


class Sleeper:
    def nap(self, seconds: float) -> float:
        time.sleep(seconds)
        return seconds


def test_measure_reduces_the_wall_times_and_counts_the_calls():
    calls = []
    timing = measure(lambda: calls.append(time.sleep(0.01)), repeats=3, reduce='median')
    assert len(calls) == 4  # one warm-up
    assert 0.01 <= timing.wall < 1.0
    assert 0 <= timing.cpu < timing.wall  # sleeping takes no CPU time
    with pytest.raises(ValueError, match='reduce must be one of'):
        measure(lambda: None, reduce='max')
    with pytest.raises(ValueError, match='repeats must be at least 1'):
        measure(lambda: None, repeats=0)


def test_call_timer_adds_up_the_wrapped_calls_and_restores_the_method():
    sleeper = Sleeper()
    timer = CallTimer(sleeper, 'nap')
    with timer:
        assert sleeper.nap(0.01) == 0.01
        sleeper.nap(0.02)
    assert timer.calls == 2 and timer.total.wall >= 0.03
    assert 'nap' not in vars(sleeper)  # the class's method again
    sleeper.nap(0.0)
    assert timer.calls == 2
    with pytest.raises(ValueError, match='has no method'):
        CallTimer(sleeper, 'run')


def test_timing_arithmetic():
    assert Timing(1.0, 2.0) + Timing(3.0, 4.0) == Timing(4.0, 6.0)
    assert Timing(4.0, 2.0) / 2 == Timing(2.0, 1.0)
    assert Timing(3.0, 1.0).ratio(Timing(2.0, 4.0)) == Timing(1.5, 0.25)
