"""The storage backend that serves local paths, chosen by a test."""
from contextlib import contextmanager
from typing import Iterator

from mmengine.fileio import LocalBackend, register_backend
from mmengine.fileio import io as mmengine_io
from mmengine.fileio.backends import registry_utils


def serve_local_paths(backend: type) -> None:
    """Make MMEngine read and write local paths with ``backend``."""
    register_backend('local', backend, force=True, prefixes='')
    mmengine_io.backend_instances.clear()


@contextmanager
def plain_local_backend() -> Iterator[None]:
    """Within: MMEngine's own LocalBackend, which writes in place, serves
    local paths (as if cpabmm installed no atomic backend)."""
    previous = registry_utils.backends['local']
    serve_local_paths(LocalBackend)
    try:
        yield
    finally:
        serve_local_paths(previous)
