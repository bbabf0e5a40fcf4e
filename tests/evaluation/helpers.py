"""Shared pieces of the evaluation tests: data samples, a colour-blob
landmark detector registered the way users register their own, and a small
identity network for ``TorchEmbedder``."""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from torch import nn

from cpabmm.evaluation import LANDMARK_DETECTORS, LandmarkDetector


def sample(video_id: str, index: int, prediction: torch.Tensor,
           driving: torch.Tensor, **extra) -> dict:
    """A data sample as the test step produces it for one driven frame."""
    return dict(video_id=video_id, driving_index=index, prediction=prediction,
                driving=driving, **extra)


def blob_frame(size: int = 64, centres=((20, 20), (40, 24), (28, 44)),
               half: int = 3) -> torch.Tensor:
    """A black ``[3, size, size]`` frame with a red, a green and a blue
    square blob centred at ``centres`` ((x, y) pixels); None skips a blob."""
    frame = torch.zeros(3, size, size)
    for channel, centre in enumerate(centres):
        if centre is not None:
            x, y = centre
            frame[channel, y - half:y + half + 1, x - half:x + half + 1] = 1.0
    return frame


def shift_x(frames: torch.Tensor, pixels: int) -> torch.Tensor:
    """Translate frames ``[..., H, W]`` right by ``pixels`` (black fill)."""
    shifted = torch.zeros_like(frames)
    shifted[..., pixels:] = frames[..., :frames.shape[-1] - pixels]
    return shifted


@LANDMARK_DETECTORS.register_module(force=True)
class ColourCentroids(LandmarkDetector):
    """Three landmarks: the intensity centroid of each colour channel (a
    blob per channel), NaN when a channel is dark."""

    name = 'colour_centroids'
    num_points = 3

    def detect(self, image: np.ndarray) -> Optional[np.ndarray]:
        ys, xs = np.mgrid[:image.shape[0], :image.shape[1]]
        points = np.full((3, 2), np.nan)
        for channel in range(3):
            weight = image[..., channel].astype(np.float64)
            if weight.sum() > 0:
                points[channel] = [(weight * xs).sum() / weight.sum(),
                                   (weight * ys).sum() / weight.sum()]
        return None if np.isnan(points).all() else points


class ColourMean(nn.Module):
    """A 1x1 convolution followed by global average pooling: with identity
    weights the embedding is the mean colour."""

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        self.mix = nn.Conv2d(3, channels, 1, bias=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.mix(images).mean(dim=(2, 3))
