"""Structural similarity (SSIM) with a Gaussian window."""
from __future__ import annotations

from torch import Tensor

from .pyramid import gaussian_kernel1d, separable_filter
from .utils import check_images, check_same_shape


def ssim(first: Tensor, second: Tensor, window_size: int = 11, sigma: float = 1.5,
         data_range: float = 1.0, per_sample: bool = False) -> Tensor:
    """Mean SSIM of two ``[B, C, H, W]`` image batches (Wang et al. 2004).

    Local statistics use a normalised ``window_size`` Gaussian of ``sigma``
    (population variances) and only windows inside the image (no padding),
    the constants are ``(0.01 L)^2`` and ``(0.03 L)^2`` with ``L = data_range``.
    The mean runs over positions, channels and the batch (or, with
    ``per_sample``, over positions and channels: ``[B]``); differentiable.
    """
    check_images(first, 'ssim inputs')
    check_same_shape(first, second, 'ssim inputs')
    if min(first.shape[-2:]) < window_size:
        raise ValueError(f'ssim needs images of at least {window_size} px per side (the window), '
                         f'got {tuple(first.shape[-2:])}')
    kernel = gaussian_kernel1d(window_size, sigma, first.dtype, first.device)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mean_a, mean_b = separable_filter(first, kernel), separable_filter(second, kernel)
    var_a = separable_filter(first * first, kernel) - mean_a ** 2
    var_b = separable_filter(second * second, kernel) - mean_b ** 2
    covariance = separable_filter(first * second, kernel) - mean_a * mean_b
    numerator = (2 * mean_a * mean_b + c1) * (2 * covariance + c2)
    denominator = (mean_a ** 2 + mean_b ** 2 + c1) * (var_a + var_b + c2)
    ssim_map = numerator / denominator
    return ssim_map.flatten(1).mean(1) if per_sample else ssim_map.mean()
