"""The one float -> uint8 conversion."""
import numpy as np
import pytest
import torch

from cpabmm.visualization import to_uint8


def test_range_dtype_and_rounding():
    values = torch.tensor([-0.5, 0.0, 0.5 / 255, 1.5 / 255, 0.5, 1.0, 2.0])
    image = values.reshape(1, 1, 7).expand(3, 1, 7)  # [C, H, W]
    out = to_uint8(image)
    assert out.dtype == np.uint8 and out.shape == (1, 7, 3) and out.flags.c_contiguous
    # clamped to [0, 1]; halves round to even (0.5 -> 0, 1.5 -> 2, 127.5 -> 128)
    np.testing.assert_array_equal(out[0, :, 0], [0, 0, 0, 2, 128, 255, 255])


def test_tensor_and_array_layouts_agree():
    images = torch.rand(2, 3, 5, 4, dtype=torch.float64)
    from_tensor = to_uint8(images)
    assert from_tensor.shape == (2, 5, 4, 3)
    np.testing.assert_array_equal(from_tensor, to_uint8(images.permute(0, 2, 3, 1).numpy()))


def test_one_channel_is_replicated():
    out = to_uint8(torch.full((1, 1, 2, 2), 1.0))
    assert out.shape == (1, 2, 2, 3) and (out == 255).all()
    with pytest.raises(ValueError, match='1 or 3 channels'):
        to_uint8(torch.zeros(2, 4, 4))
