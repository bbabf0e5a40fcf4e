"""to_safe_types / from_safe_types: MMEngine objects through the weights-only loader."""
import copy

import numpy as np
from mmengine.logging import HistoryBuffer

from cpabmm.checkpoint import from_safe_types, to_safe_types


def test_round_trip_restores_history_buffers_and_arrays():
    buffer = HistoryBuffer([1.0, 2.0], [1, 1], max_length=10)
    original = {'hub': buffer, 'seed': np.int64(3), 'array': np.arange(3)}
    restored = from_safe_types(to_safe_types(copy.deepcopy(original)))
    assert isinstance(restored['hub'], HistoryBuffer)
    assert restored['hub'].mean() == 1.5 and restored['hub'].max_length == 10
    assert restored['seed'] == 3 and type(restored['seed']) is int
    np.testing.assert_array_equal(restored['array'], np.arange(3))
