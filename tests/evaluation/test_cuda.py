"""Metrics on CUDA tensors (model outputs stay on the GPU) equal the CPU
results."""
import pytest
import torch

from cpabmm.evaluation import AKD, AED, L1, LPIPS, PSNR, SSIM, MotionError, TorchEmbedder
from .helpers import ColourCentroids, ColourMean, blob_frame, sample, shift_x


def frames_on(device: str):
    generator = torch.Generator().manual_seed(0)
    samples = []
    for index in range(3):
        gt = blob_frame(64)
        pred = (shift_x(gt, index) + 0.1 * torch.rand(3, 64, 64, generator=generator)).clamp(0, 1)
        flow = torch.rand(16, 16, 2, generator=generator) * 2 - 1
        kp = torch.rand(5, 2, generator=generator) * 2 - 1
        samples.append(sample('v', index, pred.to(device), gt.to(device),
                              flow=flow.to(device), kp_source=kp.to(device),
                              kp_driving=(kp * 0.9).to(device)))
    return samples


@pytest.mark.cuda
def test_cuda_results_equal_cpu_results():
    embedder = TorchEmbedder(network=ColourMean(), input_size=32, device='cuda')
    metrics = [L1(), PSNR(), SSIM(), LPIPS(net='squeeze', pretrained_backbone=False),
               AKD(detector=ColourCentroids(), detection_size=None), AED(embedder=embedder),
               MotionError()]
    results = {}
    for device in ('cpu', 'cuda'):
        merged = {}
        for metric in metrics:
            metric.process(None, frames_on(device))
            merged.update(metric.evaluate(3))
        results[device] = merged
    for key, value in results['cpu'].items():
        if isinstance(value, str):
            assert results['cuda'][key] == value
        else:
            assert results['cuda'][key] == pytest.approx(value, rel=1e-4, abs=1e-5), key
