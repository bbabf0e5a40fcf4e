"""Pixel-level fidelity: L1, PSNR and SSIM between generated and real frames."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from cpabmm.registry import METRICS
from .paired_metric import PairedImageMetric


@METRICS.register_module()
class L1(PairedImageMetric):
    """Mean absolute difference over pixels and channels (images in [0, 1]),
    per frame, averaged over all frames of all videos — the reconstruction
    error of pose-evaluation's protocol."""

    statistics = ('L1', )

    def score(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        return (pred.double() - gt.double()).abs().flatten(1).mean(1)


@METRICS.register_module()
class PSNR(PairedImageMetric):
    """Peak signal-to-noise ratio in dB (peak 1), per frame, averaged over
    frames.

    Identical frames (MSE 0) would give infinity: the value is capped at
    ``max_psnr`` (100 dB, i.e. an MSE floor of 1e-10), so a perfect frame
    counts as 100 dB in the mean.
    """

    statistics = ('PSNR', )

    def __init__(self, max_psnr: float = 100.0, **kwargs) -> None:
        super().__init__(**kwargs)
        if not max_psnr > 0:
            raise ValueError(f'PSNR: max_psnr must be positive, got {max_psnr}')
        self.max_psnr = float(max_psnr)

    def score(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        mse = (pred.double() - gt.double()).square().flatten(1).mean(1)
        floor = 10.0**(-self.max_psnr / 10.0)
        return (-10.0 * torch.log10(mse.clamp_min(floor))).clamp_max(self.max_psnr)


def gaussian_kernel1d(size: int, sigma: float) -> torch.Tensor:
    """A normalised 1-D Gaussian of ``size`` taps (float64)."""
    offsets = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    kernel = torch.exp(-offsets.square() / (2 * sigma**2))
    return kernel / kernel.sum()


def ssim(pred: torch.Tensor,
         gt: torch.Tensor,
         window_size: int = 11,
         sigma: float = 1.5,
         data_range: float = 1.0,
         k1: float = 0.01,
         k2: float = 0.03) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004) of ``[B, C, H, W]`` batches.

    Local statistics come from a ``window_size`` x ``window_size`` Gaussian
    window; the SSIM map is averaged over the positions where the window fits
    inside the image, then over channels. Computed in float64. Returns ``[B]``.
    """
    height, width = pred.shape[-2:]
    if min(height, width) < window_size:
        raise ValueError(
            f'SSIM: frames of {height}x{width} are smaller than the '
            f'{window_size}x{window_size} window')
    pred, gt = pred.double(), gt.double()
    channels = pred.shape[1]
    kernel = gaussian_kernel1d(window_size, sigma).to(pred.device)
    rows = kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    cols = kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1)

    def blur(x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, rows, groups=channels)
        return F.conv2d(x, cols, groups=channels)

    mu_x, mu_y = blur(pred), blur(gt)
    var_x = blur(pred * pred) - mu_x.square()
    var_y = blur(gt * gt) - mu_y.square()
    cov = blur(pred * gt) - mu_x * mu_y
    c1, c2 = (k1 * data_range)**2, (k2 * data_range)**2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x.square() + mu_y.square() + c1) * (var_x + var_y + c2))
    return ssim_map.flatten(1).mean(1)


@METRICS.register_module()
class SSIM(PairedImageMetric):
    """Structural similarity with an 11x11 Gaussian window (sigma 1.5),
    K1 = 0.01, K2 = 0.03, data range 1, averaged over channels, per frame,
    then over frames. Equals ``skimage.metrics.structural_similarity`` with
    ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    data_range=1``."""

    statistics = ('SSIM', )

    def score(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        return ssim(pred, gt)
