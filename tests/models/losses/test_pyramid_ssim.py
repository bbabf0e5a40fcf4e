"""The anti-aliased pyramid against the published 2-D kernel, SSIM against scikit-image."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity

from cpabmm.models.losses import ImagePyramid, ssim


def published_downsample(images, scale):
    """TPSMM's AntiAliasInterpolation2d written out: a 2-D Gaussian kernel,
    zero padding, depthwise convolution, every (1/scale)-th pixel."""
    sigma = (1 / scale - 1) / 2
    size = 2 * round(sigma * 4) + 1
    grid = torch.arange(size, dtype=torch.float64)
    ys, xs = torch.meshgrid(grid, grid, indexing='ij')
    mean = (size - 1) / 2
    kernel = torch.exp(-(xs - mean) ** 2 / (2 * sigma ** 2)) * torch.exp(-(ys - mean) ** 2 / (2 * sigma ** 2))
    kernel = (kernel / kernel.sum()).repeat(images.shape[1], 1, 1, 1)
    pad = size // 2
    out = F.conv2d(F.pad(images, (pad, pad, pad, pad)), kernel, groups=images.shape[1])
    step = int(1 / scale)
    return out[:, :, ::step, ::step]


def test_pyramid_matches_the_published_downsampling():
    images = torch.rand(2, 3, 64, 48, dtype=torch.float64)
    pyramid = ImagePyramid((1, 0.5, 0.25, 0.125))(images)
    assert list(pyramid) == [1.0, 0.5, 0.25, 0.125]
    assert pyramid[1.0] is images
    for scale in (0.5, 0.25, 0.125):
        torch.testing.assert_close(pyramid[scale], published_downsample(images, scale),
                                   rtol=1e-10, atol=1e-10)
        assert pyramid[scale].shape[-2:] == (64 * scale, 48 * scale)


def test_pyramid_has_no_state_and_checks_scales():
    assert ImagePyramid((1, 0.5)).state_dict() == {}
    with pytest.raises(ValueError, match='scales must be in'):
        ImagePyramid((1, 2))


def test_ssim_matches_scikit_image():
    rng = np.random.default_rng(0)
    first = rng.random((3, 40, 36))
    second = np.clip(first + 0.2 * rng.standard_normal(first.shape), 0, 1)
    expected = structural_similarity(first, second, channel_axis=0, data_range=1.0,
                                     gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False)
    actual = ssim(torch.from_numpy(first)[None], torch.from_numpy(second)[None])
    assert actual.item() == pytest.approx(expected, abs=1e-10)


def test_ssim_of_identical_images_is_one_and_gradients_are_right():
    images = torch.rand(1, 2, 16, 16, dtype=torch.float64)
    assert ssim(images, images).item() == pytest.approx(1.0, abs=1e-12)
    other = torch.rand(1, 2, 16, 16, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: ssim(x, images), (other,), fast_mode=True)


def test_ssim_needs_a_window_of_pixels():
    with pytest.raises(ValueError, match='at least 11 px'):
        ssim(torch.rand(1, 3, 8, 20), torch.rand(1, 3, 8, 20))
