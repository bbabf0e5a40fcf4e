"""TPSMM's animation-via-disentanglement (AVD) network."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from cpabmm.registry import MODELS
from ..motion.base import Keypoints


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    """Linear layers of the given sizes, each but the last followed by
    BatchNorm1d and ReLU."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers += [nn.BatchNorm1d(n_out), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


@MODELS.register_module()
class AVDNetwork(nn.Module):
    """Keypoints with the pose of ``kp_driving`` and the identity (shape) of
    ``kp_source``.

    Two MLP encoders (identity from the source keypoints, pose from the
    driving ones) and an MLP decoder of their concatenated codes. Trained in
    a separate stage after the animation model.

    Args:
        num_keypoints: keypoints per frame.
        id_bottleneck: size of the identity code.
        pose_bottleneck: size of the pose code.
    """

    def __init__(self, num_keypoints: int = 50, id_bottleneck: int = 64,
                 pose_bottleneck: int = 64):
        super().__init__()
        self.num_keypoints = num_keypoints
        size = 2 * num_keypoints
        self.id_encoder = _mlp([size, 256, 512, 1024, id_bottleneck])
        self.pose_encoder = _mlp([size, 256, 512, 1024, pose_bottleneck])
        self.decoder = _mlp([pose_bottleneck + id_bottleneck, 1024, 512, 256, size])

    def forward(self, kp_source: Keypoints, kp_driving: Keypoints) -> Keypoints:
        batch = kp_source['value'].shape[0]
        pose = self.pose_encoder(kp_driving['value'].reshape(batch, -1))
        identity = self.id_encoder(kp_source['value'].reshape(batch, -1))
        value = self.decoder(torch.cat([pose, identity], dim=1))
        return {'value': value.view(batch, self.num_keypoints, 2)}
