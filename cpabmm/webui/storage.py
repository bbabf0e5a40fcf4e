"""The web app's temporary folder: uploads, one folder per job, expiry.

Everything the app writes or receives lives under one folder made for it
(``cpabmm-webui-XXXX`` in the system's temporary folder, or under
``--temp-dir``): Gradio's uploads and cache (the app points
``GRADIO_TEMP_DIR`` at it) and ``jobs/<id>/`` with each job's videos. A job's
folder is deleted once it is older than ``keep_seconds`` (never while the job
runs), by :meth:`ResultStore.sweep`, which a background thread calls
regularly; :meth:`ResultStore.close` deletes the whole folder.
"""
from __future__ import annotations

import os
import os.path as osp
import secrets
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from typing import Iterator, List, Optional, Set

from mmengine.logging import print_log

#: the longest pause between two sweeps, in seconds
SWEEP_INTERVAL = 60.0


class ResultStore:
    """The app's temporary folder and the results in it.

    Args:
        keep_seconds: how long a job's results stay for download (counted
            from the end of the job).
        parent: the folder to make the app's folder in (default: the
            system's temporary folder).
    """

    def __init__(self, keep_seconds: float = 3600, parent: Optional[str] = None) -> None:
        if keep_seconds <= 0:
            raise ValueError(f'results must be kept for a positive time, got {keep_seconds} s')
        if parent is not None and not osp.isdir(parent):
            raise ValueError(f'--temp-dir {parent}: no such folder')
        self.keep_seconds = keep_seconds
        self.root = osp.realpath(tempfile.mkdtemp(prefix='cpabmm-webui-', dir=parent))
        self.jobs = osp.join(self.root, 'jobs')
        os.makedirs(self.jobs)
        self._active: Set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sweeper: Optional[threading.Thread] = None
        self.closed = False

    def __enter__(self) -> 'ResultStore':
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def job(self) -> Iterator[str]:
        """A new, empty job folder (a random name nobody can guess), kept
        from expiry while the ``with`` block runs and removed when it
        raises."""
        if self.closed:
            raise ValueError('the app is stopping; no new job starts')
        folder = osp.join(self.jobs, f'{time.strftime("%Y%m%d-%H%M%S")}-{secrets.token_hex(8)}')
        os.makedirs(folder)
        with self._lock:
            self._active.add(folder)
        try:
            yield folder
            os.utime(folder)  # the results are kept from now on
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        finally:
            with self._lock:
                self._active.discard(folder)

    def sweep(self, now: Optional[float] = None) -> List[str]:
        """Delete the job folders older than ``keep_seconds`` (by their last
        change) that no job is writing; returns them."""
        now = time.time() if now is None else now
        removed = []
        with self._lock:
            active = set(self._active)
        try:
            names = sorted(os.listdir(self.jobs))
        except FileNotFoundError:  # closed meanwhile
            return removed
        for name in names:
            folder = osp.join(self.jobs, name)
            try:
                age = now - os.stat(folder).st_mtime
            except FileNotFoundError:
                continue
            if folder not in active and age > self.keep_seconds:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        return removed

    def start_sweeping(self, interval: Optional[float] = None) -> None:
        """Call :meth:`sweep` every ``interval`` seconds (default: a tenth of
        ``keep_seconds``, at most :data:`SWEEP_INTERVAL`) in a background
        thread until :meth:`close`."""
        if self._sweeper is not None:
            return
        interval = interval or min(SWEEP_INTERVAL, max(self.keep_seconds / 10, 0.1))

        def run() -> None:
            while not self._stop.wait(interval):
                for folder in self.sweep():
                    print_log(f'deleted the expired results {folder}', logger='current')

        self._sweeper = threading.Thread(target=run, name='cpabmm-webui-sweeper', daemon=True)
        self._sweeper.start()

    def close(self) -> None:
        """Stop sweeping and delete the app's folder with everything in it."""
        self.closed = True
        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.join()
            self._sweeper = None
        shutil.rmtree(self.root, ignore_errors=True)
