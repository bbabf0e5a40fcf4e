"""Pixel-level fidelity: L1, PSNR and SSIM between generated and real frames."""
from __future__ import annotations

import torch

from cpabmm.models.losses.ssim import ssim
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


@METRICS.register_module()
class SSIM(PairedImageMetric):
    """Structural similarity with an 11x11 Gaussian window (sigma 1.5),
    K1 = 0.01, K2 = 0.03, data range 1, averaged over channels, per frame,
    then over frames. Equals ``skimage.metrics.structural_similarity`` with
    ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    data_range=1``."""

    statistics = ('SSIM', )

    def score(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        return ssim(pred.double(), gt.double(), per_sample=True)
