"""Wall-clock and process-CPU timing for the benchmarks.

On a machine shared with other work the wall time of a run grows with the
load; the process CPU time (all threads of this process) grows much less, so
the benchmarks report both.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

import torch


@dataclass
class Timing:
    """Seconds of wall-clock and of process CPU time (all threads)."""
    wall: float = 0.0
    cpu: float = 0.0

    def __add__(self, other: 'Timing') -> 'Timing':
        return Timing(self.wall + other.wall, self.cpu + other.cpu)

    def __truediv__(self, count: float) -> 'Timing':
        return Timing(self.wall / count, self.cpu / count)

    def ratio(self, other: 'Timing') -> 'Timing':
        """This timing over ``other``, wall over wall and CPU over CPU."""
        return Timing(self.wall / other.wall, self.cpu / other.cpu)


def synchronize(device: Optional[torch.device]) -> None:
    """Wait for queued CUDA work on ``device`` (nothing on the CPU)."""
    if device is not None and torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)


class Stopwatch:
    """Times the code of a ``with`` block: ``watch.elapsed`` is its
    :class:`Timing` once the block exits (CUDA work on ``device`` included)."""

    def __init__(self, device: Optional[torch.device] = None) -> None:
        self.device = device
        self.elapsed = Timing()

    def __enter__(self) -> 'Stopwatch':
        synchronize(self.device)
        self._start = (time.perf_counter(), time.process_time())
        return self

    def __exit__(self, *exc_info: Any) -> None:
        synchronize(self.device)
        self.elapsed = Timing(time.perf_counter() - self._start[0],
                              time.process_time() - self._start[1])


def measure(function: Callable[[], Any], repeats: int = 1, warmup: bool = True,
            device: Optional[torch.device] = None, reduce: str = 'min') -> Timing:
    """Time ``repeats`` calls of ``function`` (after one untimed call when
    ``warmup``); ``reduce`` is ``'min'``, ``'median'`` or ``'mean'``, taken
    of the wall and the CPU times separately."""
    reducers = {'min': min, 'median': statistics.median, 'mean': statistics.mean}
    if reduce not in reducers:
        raise ValueError(f'reduce must be one of {sorted(reducers)}, got {reduce!r}')
    if repeats < 1:
        raise ValueError(f'repeats must be at least 1, got {repeats}')
    if warmup:
        function()
        synchronize(device)
    timings: List[Timing] = []
    for _ in range(repeats):
        with Stopwatch(device) as watch:
            function()
        timings.append(watch.elapsed)
    pick = reducers[reduce]
    return Timing(pick(t.wall for t in timings), pick(t.cpu for t in timings))


class CallTimer:
    """Within a ``with`` block, adds up the time spent in ``owner.<name>``
    calls (e.g. a motion model's ``fit`` inside a whole forward pass).

    The method is wrapped on the instance and restored on exit. ``total``
    and ``calls`` accumulate over every block; :meth:`reset` clears them.
    """

    def __init__(self, owner: Any, name: str, device: Optional[torch.device] = None) -> None:
        if not callable(getattr(owner, name, None)):
            raise ValueError(f'{type(owner).__name__} has no method {name!r} to time')
        self.owner, self.name, self.device = owner, name, device
        self.reset()

    def reset(self) -> None:
        self.total, self.calls = Timing(), 0

    def __enter__(self) -> 'CallTimer':
        method = getattr(self.owner, self.name)
        self._own = vars(self.owner).get(self.name)  # an instance attribute to restore

        def timed(*args: Any, **kwargs: Any) -> Any:
            with Stopwatch(self.device) as watch:
                result = method(*args, **kwargs)
            self.total = self.total + watch.elapsed
            self.calls += 1
            return result

        setattr(self.owner, self.name, timed)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._own is not None:
            setattr(self.owner, self.name, self._own)
        else:
            delattr(self.owner, self.name)  # the class's method shows through again

