"""The storage backend that serves local paths, chosen by a test."""
from contextlib import contextmanager
from typing import Iterator

from mmengine.fileio import register_backend
from mmengine.fileio import io as mmengine_io
from mmengine.fileio.backends import registry_utils


def serve_local_paths(backend: type) -> None:
    """Make MMEngine read and write local paths with ``backend``."""
    register_backend('local', backend, force=True, prefixes='')
    mmengine_io.backend_instances.clear()


@contextmanager
def restored_local_backend() -> Iterator[None]:
    """Within, a test may :func:`serve_local_paths` with its own backend;
    the backend that served them before is put back at the end."""
    previous = registry_utils.backends['local']
    try:
        yield
    finally:
        serve_local_paths(previous)
