"""The model zoo: the index of checkpoints (``model-index.yml`` and the
metafiles of ``configs/``), name lookup, and verified downloads into the
checkpoint cache."""
from .cache import HOME_ENV, cache_dir
from .checksum import file_sha256, normalise_sha256
from .errors import ChecksumError, DownloadError
from .fetch import (cached_path, fetch_model, fetch_source, fetch_url, resolve_model,
                    verify_local)
from .index import (INDEX_ENV, ModelEntry, ModelIndex, OfficialCheckpoint,
                    default_index_path, is_url, load_model_index)
from .names import find_model
from .transfer import download

__all__ = [
    'ChecksumError', 'DownloadError', 'HOME_ENV', 'INDEX_ENV', 'ModelEntry', 'ModelIndex',
    'OfficialCheckpoint', 'cache_dir', 'cached_path', 'default_index_path', 'download',
    'fetch_model', 'fetch_source', 'fetch_url', 'file_sha256', 'find_model', 'is_url',
    'load_model_index', 'normalise_sha256', 'resolve_model', 'verify_local'
]
