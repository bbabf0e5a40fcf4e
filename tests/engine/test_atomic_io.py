"""Checkpoint writes are atomic: complete or absent, never truncated."""
import os
import signal
import subprocess
import sys
import time

import pytest
from mmengine.fileio import get_file_backend

import cpabmm.engine  # noqa: F401  (installs the atomic backend)
from cpabmm.engine import AtomicLocalBackend


def test_local_backend_is_atomic(tmp_path):
    assert isinstance(get_file_backend(str(tmp_path / 'a.pth')), AtomicLocalBackend)


def test_failed_write_keeps_the_old_file_and_no_temporaries(tmp_path, monkeypatch):
    target = tmp_path / 'ckpt.pth'
    target.write_bytes(b'old')
    backend = AtomicLocalBackend()

    def broken_replace(src, dst):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'replace', broken_replace)
    with pytest.raises(OSError, match='disk full'):
        backend.put(b'new' * 1000, target)
    assert target.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['ckpt.pth']


WRITER = '''
import sys
from cpabmm.engine import AtomicLocalBackend
print('ready', flush=True)
AtomicLocalBackend().put(b'N' * (400 * 1024 * 1024), sys.argv[1])
'''


def test_sigkill_during_a_large_write_never_leaves_a_partial_file(tmp_path):
    target = tmp_path / 'ckpt.pth'
    old = b'O' * 1024
    target.write_bytes(old)
    child = subprocess.Popen([sys.executable, '-c', WRITER, str(target)], stdout=subprocess.PIPE)
    assert child.stdout.readline().strip() == b'ready'
    time.sleep(0.3)
    child.send_signal(signal.SIGKILL)
    child.wait()
    content = target.read_bytes()
    assert content == old or content == b'N' * (400 * 1024 * 1024)


def test_written_files_get_the_umask_permissions_not_mkstemps(tmp_path):
    target = tmp_path / 'ckpt.pth'
    AtomicLocalBackend().put(b'data', target)
    umask = os.umask(0)
    os.umask(umask)
    assert (target.stat().st_mode & 0o777) == 0o666 & ~umask
