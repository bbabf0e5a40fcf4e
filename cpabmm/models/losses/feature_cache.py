"""A cache of frozen-network features, so that each frame is encoded once.

Entries are keyed by whatever identifies a frame and its geometric
augmentation, e.g. ``(video, frame_index, crop_box, flipped)``: a tuple of
strings, numbers, booleans and ``None`` (nested tuples allowed). The cache
keeps the most recently used entries in memory up to ``max_bytes`` and can
also keep every entry in a folder on disk (one file per key, written
atomically, read with ``weights_only=True``), which outlives the run and is
shared by the processes of a distributed run.
"""
from __future__ import annotations

import hashlib
import os
import os.path as osp
from collections import OrderedDict
from typing import Callable, Hashable, Iterable, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from cpabmm.checkpoint import read_file
from cpabmm.fileio import atomic_write

KEY_TYPES = (str, int, float, bool, type(None))


def check_key(key: Hashable) -> None:
    """Raise unless ``key`` is built of strings, numbers, booleans, None and tuples."""
    if isinstance(key, tuple):
        for item in key:
            check_key(item)
    elif not isinstance(key, KEY_TYPES):
        raise ValueError(f'feature cache keys are tuples of str/int/float/bool/None, got a '
                         f'{type(key).__name__} ({key!r})')


class FeatureCache:
    """LRU memory cache with an optional on-disk store.

    Args:
        max_bytes: memory bound of the entries kept in memory (0: none kept).
        cache_dir: folder of the on-disk store (created); ``None``: memory only.
        dtype: storage dtype (float16 halves the memory of float32 features).
        device: where entries are kept in memory.
    """

    def __init__(self, max_bytes: int = 2 * 1024 ** 3, cache_dir: Optional[str] = None,
                 dtype: Union[torch.dtype, str] = torch.float16,
                 device: Union[torch.device, str] = 'cpu'):
        if max_bytes < 0:
            raise ValueError(f'max_bytes must be >= 0, got {max_bytes}')
        self.max_bytes = int(max_bytes)
        self.cache_dir = osp.expanduser(cache_dir) if cache_dir else None
        if self.cache_dir:
            os.makedirs(self.cache_dir, exist_ok=True)
        self.dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        self.device = torch.device(device)
        self._memory: 'OrderedDict[Hashable, Tensor]' = OrderedDict()
        self.memory_bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        """Entries held in memory."""
        return len(self._memory)

    def path(self, key: Hashable) -> str:
        """The on-disk file of ``key`` (a digest of its ``repr``)."""
        if not self.cache_dir:
            raise ValueError('this feature cache has no cache_dir')
        check_key(key)
        digest = hashlib.sha256(repr(key).encode()).hexdigest()
        return osp.join(self.cache_dir, digest[:2], digest + '.pt')

    def get(self, key: Hashable) -> Optional[Tensor]:
        """The stored features of ``key`` (memory, then disk), or ``None``."""
        check_key(key)
        value = self._memory.get(key)
        if value is not None:
            self._memory.move_to_end(key)
        elif self.cache_dir and osp.isfile(self.path(key)):
            value = read_file(self.path(key), map_location=self.device)
            self._remember(key, value)
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    def put(self, key: Hashable, value: Tensor) -> None:
        """Store ``value`` (converted to the cache's dtype) under ``key``."""
        check_key(key)
        value = value.detach().to(device=self.device, dtype=self.dtype).contiguous()
        if self.cache_dir:
            self._write(self.path(key), value)
        self._remember(key, value)

    def _remember(self, key: Hashable, value: Tensor) -> None:
        size = value.numel() * value.element_size()
        if size > self.max_bytes:
            return
        if key in self._memory:
            old = self._memory.pop(key)
            self.memory_bytes -= old.numel() * old.element_size()
        self._memory[key] = value
        self.memory_bytes += size
        while self.memory_bytes > self.max_bytes:
            _, evicted = self._memory.popitem(last=False)
            self.memory_bytes -= evicted.numel() * evicted.element_size()

    @staticmethod
    def _write(path: str, value: Tensor) -> None:
        """Write atomically: a reader never sees a partial file."""
        with atomic_write(path, 'wb') as f:
            torch.save(value.cpu(), f)

    def get_or_compute(self, keys: Optional[Sequence[Hashable]], images: Tensor,
                       compute: Callable[[Tensor], Tensor]) -> Tensor:
        """Features of a batch: cached ones are read, the others computed in
        one call of ``compute`` on just those images and stored.

        ``keys`` (one per image) may be ``None``: then everything is computed
        and nothing stored. Returns ``[B, ...]`` in ``images``' dtype and device.
        """
        if keys is None:
            return compute(images)
        if len(keys) != images.shape[0]:
            raise ValueError(f'{len(keys)} cache keys for a batch of {images.shape[0]} images')
        found = [self.get(key) for key in keys]
        missing = [i for i, value in enumerate(found) if value is None]
        if missing:
            computed = compute(images[missing])
            for i, value in zip(missing, computed):
                self.put(keys[i], value)
                found[i] = value
        return torch.stack([value.to(device=images.device, dtype=images.dtype)
                            for value in found])


def extract_features(frames: Iterable[Tuple[Hashable, Tensor]],
                     compute: Callable[[Tensor], Tensor], cache: FeatureCache,
                     batch_size: int = 4) -> int:
    """Fill ``cache`` for every ``(key, image [C, H, W])`` of ``frames`` not
    yet in it, encoding ``batch_size`` images per call (frames of a batch must
    share a size). Returns how many were encoded.

    Typical use before training: iterate over a dataset's frames with their
    keys and a persistent ``cache_dir``; training then reads from disk.
    """
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    if not cache.cache_dir and cache.max_bytes == 0:
        raise ValueError('this cache keeps nothing (no cache_dir, max_bytes=0): give it one')
    pending_keys, pending_images, encoded = [], [], 0

    def flush() -> int:
        if not pending_keys:
            return 0
        cache.get_or_compute(pending_keys, torch.stack(pending_images), compute)
        count = len(pending_keys)
        pending_keys.clear()
        pending_images.clear()
        return count

    for key, image in frames:
        if cache.get(key) is not None:
            continue
        pending_keys.append(key)
        pending_images.append(image)
        if len(pending_keys) == batch_size:
            encoded += flush()
    return encoded + flush()
