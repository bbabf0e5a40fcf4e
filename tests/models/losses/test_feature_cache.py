"""The LRU + on-disk feature cache and pre-extraction."""
import os

import pytest
import torch

from cpabmm.models.losses import FeatureCache, extract_features


class CountingEncoder:
    """images -> per-image features, counting the images it encoded."""

    def __init__(self):
        self.encoded = 0

    def __call__(self, images):
        self.encoded += len(images)
        return images.mean(dim=1, keepdim=True) * 2


def test_memory_bound_evicts_the_least_recently_used():
    entry = torch.zeros(16, dtype=torch.float32)  # 64 bytes each once stored as float32
    cache = FeatureCache(max_bytes=3 * 64, dtype=torch.float32)
    for i in range(3):
        cache.put(('v', i), entry + i)
    assert cache.get(('v', 0)) is not None  # 0 becomes the most recently used
    cache.put(('v', 3), entry + 3)
    assert len(cache) == 3 and cache.memory_bytes == 3 * 64
    assert cache.get(('v', 1)) is None  # evicted
    assert cache.get(('v', 0))[0].item() == 0 and cache.get(('v', 3))[0].item() == 3
    assert cache.hits == 3 and cache.misses == 1


def test_entries_are_stored_in_the_cache_dtype():
    cache = FeatureCache()
    cache.put('a', torch.full((4,), 1 / 3, dtype=torch.float64))
    assert cache.get('a').dtype == torch.float16
    assert cache.memory_bytes == 8


def test_disk_store_outlives_the_memory_and_the_process(tmp_path):
    first = FeatureCache(max_bytes=0, cache_dir=str(tmp_path), dtype=torch.float32)
    value = torch.randn(2, 3)
    first.put(('clip', 7, (0, 0, 64, 64), False), value)
    assert len(first) == 0  # max_bytes=0: nothing kept in memory
    assert os.path.isfile(first.path(('clip', 7, (0, 0, 64, 64), False)))
    second = FeatureCache(cache_dir=str(tmp_path), dtype=torch.float32)
    torch.testing.assert_close(second.get(('clip', 7, (0, 0, 64, 64), False)), value)
    assert second.get(('clip', 7, (0, 0, 64, 64), True)) is None
    leftovers = [f for _, _, files in os.walk(tmp_path) for f in files if f.endswith('.tmp')]
    assert leftovers == []


def test_get_or_compute_encodes_only_the_missing_images():
    cache, encoder = FeatureCache(dtype=torch.float32), CountingEncoder()
    images = torch.rand(3, 3, 4, 4)
    first = cache.get_or_compute(['a', 'b', 'c'], images, encoder)
    assert encoder.encoded == 3
    torch.testing.assert_close(first, encoder(images))
    encoder.encoded = 0
    second = cache.get_or_compute(['c', 'd', 'a'], images, encoder)
    assert encoder.encoded == 1
    torch.testing.assert_close(second[0], first[2])
    torch.testing.assert_close(second[2], first[0])
    assert cache.get_or_compute(None, images, encoder).shape == (3, 1, 4, 4)
    with pytest.raises(ValueError, match='2 cache keys for a batch of 3'):
        cache.get_or_compute(['a', 'b'], images, encoder)


def test_keys_must_be_plain_values():
    cache = FeatureCache()
    with pytest.raises(ValueError, match='tuples of str/int/float/bool/None, got a Tensor'):
        cache.put(('v', torch.tensor(1)), torch.zeros(1))


def test_extract_features_fills_the_cache_once(tmp_path):
    frames = [(('v', i), torch.full((3, 4, 4), float(i))) for i in range(5)]
    cache, encoder = FeatureCache(cache_dir=str(tmp_path), dtype=torch.float32), CountingEncoder()
    assert extract_features(frames, encoder, cache, batch_size=2) == 5
    assert encoder.encoded == 5
    assert extract_features(frames, encoder, FeatureCache(cache_dir=str(tmp_path)), 2) == 0
    assert cache.get(('v', 4)).mean().item() == pytest.approx(8.0)
    with pytest.raises(ValueError, match='keeps nothing'):
        extract_features(frames, encoder, FeatureCache(max_bytes=0))
