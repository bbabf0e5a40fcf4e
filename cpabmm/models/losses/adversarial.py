"""FOMM's optional adversarial training: a multi-scale patch discriminator,
LSGAN losses and discriminator feature matching.

Module names follow FOMM (``discs.<scale>.down_blocks.N.conv``, ``.norm``,
``discs.<scale>.conv``; spectral norm as ``weight_orig``/``weight_u``/
``weight_v``), so the discriminators of FOMM's ``-adv`` checkpoints load.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cpabmm.registry import MODELS
from .equivariance import pixel_grid
from .pyramid import ImagePyramid
from .utils import KeypointsLike, check_images, check_same_shape, keypoint_values

DiscriminatorOutput = Tuple[List[Tensor], Tensor]


def scale_key(scale: float) -> str:
    """FOMM's module key of a scale: 1 -> '1', 0.5 -> '0-5'."""
    scale = float(scale)
    return str(int(scale)) if scale.is_integer() else str(scale).replace('.', '-')


class DiscriminatorBlock(nn.Module):
    """4x4 valid convolution (optionally spectral-normalised), optional
    instance norm, LeakyReLU(0.2), optional 2x2 average pooling."""

    def __init__(self, in_channels: int, out_channels: int, norm: bool, pool: bool,
                 spectral_norm: bool):
        super().__init__()
        conv = nn.Conv2d(in_channels, out_channels, kernel_size=4)
        self.conv = nn.utils.spectral_norm(conv) if spectral_norm else conv
        self.norm = nn.InstanceNorm2d(out_channels, affine=True) if norm else None
        self.pool = pool

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv(x)
        if self.norm is not None:
            out = self.norm(out)
        out = F.leaky_relu(out, 0.2)
        return F.avg_pool2d(out, 2) if self.pool else out


@MODELS.register_module()
class PatchDiscriminator(nn.Module):
    """FOMM's pix2pix-like discriminator at one scale.

    Args:
        in_channels: image channels.
        block_expansion, max_features, num_blocks: widths
            ``min(max_features, block_expansion 2^(i+1))``.
        spectral_norm: spectral normalisation of every convolution.
        use_kp: append Gaussian heatmaps of the (driving) keypoints to the input.
        num_kp, kp_variance: their number and variance.
    """

    def __init__(self, in_channels: int = 3, block_expansion: int = 64, num_blocks: int = 4,
                 max_features: int = 512, spectral_norm: bool = False, use_kp: bool = False,
                 num_kp: int = 10, kp_variance: float = 0.01):
        super().__init__()
        self.use_kp = use_kp
        self.num_kp = num_kp
        self.kp_variance = kp_variance
        widths = [in_channels + num_kp * use_kp] + [
            min(max_features, block_expansion * 2 ** (i + 1)) for i in range(num_blocks)]
        self.down_blocks = nn.ModuleList(
            DiscriminatorBlock(widths[i], widths[i + 1], norm=i != 0, pool=i != num_blocks - 1,
                               spectral_norm=spectral_norm)
            for i in range(num_blocks))
        conv = nn.Conv2d(widths[-1], 1, kernel_size=1)
        self.conv = nn.utils.spectral_norm(conv) if spectral_norm else conv

    def heatmaps(self, keypoints: Tensor, size: Sequence[int]) -> Tensor:
        """``exp(-|z - kp|^2 / (2 var))`` for ``[B, K, 2]`` keypoints: ``[B, K, h, w]``."""
        grid = pixel_grid(size[0], size[1], keypoints.dtype, keypoints.device)
        squared = ((grid - keypoints[:, :, None, None, :]) ** 2).sum(-1)
        return torch.exp(-0.5 * squared / self.kp_variance)

    def forward(self, images: Tensor, keypoints: Optional[KeypointsLike] = None
                ) -> DiscriminatorOutput:
        """Feature maps of every block and the patch prediction map."""
        out = images
        if self.use_kp:
            if keypoints is None:
                raise ValueError('this discriminator uses keypoints (use_kp=True): pass them')
            value = keypoint_values(keypoints, 'keypoints').detach()
            if value.shape[1] != self.num_kp:
                raise ValueError(f'the discriminator expects {self.num_kp} keypoints, '
                                 f'got {value.shape[1]}')
            out = torch.cat([out, self.heatmaps(value, images.shape[-2:])], dim=1)
        features = []
        for block in self.down_blocks:
            out = block(out)
            features.append(out)
        return features, self.conv(out)


@MODELS.register_module()
class MultiScaleDiscriminator(nn.Module):
    """One :class:`PatchDiscriminator` per pyramid scale (FOMM: scale 1 only).

    ``forward`` takes ``{scale: image}`` (an :class:`ImagePyramid` output) and
    returns ``{scale: (feature maps, prediction map)}``.
    """

    def __init__(self, scales: Sequence[float] = (1,), **kwargs):
        super().__init__()
        self.scales = tuple(float(scale) for scale in scales)
        self.discs = nn.ModuleDict(
            {scale_key(scale): PatchDiscriminator(**kwargs) for scale in self.scales})

    def forward(self, pyramid: Dict[float, Tensor], keypoints: Optional[KeypointsLike] = None
                ) -> Dict[float, DiscriminatorOutput]:
        return {scale: self.discs[scale_key(scale)](pyramid[scale], keypoints)
                for scale in self.scales}


def lsgan_generator_loss(fake_predictions: Sequence[Tensor]) -> Tensor:
    """``sum_s mean (1 - D_s(fake))^2``."""
    return sum(((1 - prediction) ** 2).mean() for prediction in fake_predictions)


def lsgan_discriminator_loss(real_predictions: Sequence[Tensor],
                             fake_predictions: Sequence[Tensor]) -> Tensor:
    """``sum_s mean [(1 - D_s(real))^2 + D_s(fake)^2]``."""
    return sum(((1 - real) ** 2 + fake ** 2).mean()
               for real, fake in zip(real_predictions, fake_predictions))


def feature_matching_loss(real_features: Sequence[Sequence[Tensor]],
                          fake_features: Sequence[Sequence[Tensor]],
                          weights: Sequence[float]) -> Tensor:
    """``sum_s sum_l w_l mean |F_sl(real) - F_sl(fake)|`` (real features are
    the target: detached)."""
    total = fake_features[0][0].new_zeros(())
    for real_levels, fake_levels in zip(real_features, fake_features):
        if len(real_levels) != len(weights):
            raise ValueError(f'{len(weights)} feature matching weights for a discriminator '
                             f'with {len(real_levels)} blocks')
        for weight, real, fake in zip(weights, real_levels, fake_levels):
            if weight:
                total = total + weight * (real.detach() - fake).abs().mean()
    return total


@contextmanager
def frozen_parameters(module: nn.Module) -> Iterator[None]:
    """Temporarily stop gradients to ``module``'s parameters."""
    states = [(p, p.requires_grad) for p in module.parameters()]
    for parameter, _ in states:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter, state in states:
            parameter.requires_grad_(state)


@MODELS.register_module()
class AdversarialLoss(nn.Module):
    """FOMM's adversarial objective with its discriminator.

    :meth:`generator_loss` returns ``loss_gen_gan`` (LSGAN) and
    ``loss_feature_matching``; gradients reach the prediction only (the
    discriminator's parameters are frozen while it runs). :meth:`discriminator_loss`
    returns ``loss_disc_gan``; gradients reach the discriminator only. The
    model steps the discriminator with its own optimiser (FOMM: Adam, lr 2e-4,
    betas (0.5, 0.999)).

    Args:
        discriminator: a :class:`MultiScaleDiscriminator` config (FOMM's
            ``-adv`` configs: scales (1,), block_expansion 32, max_features 512,
            num_blocks 4, and use_kp or spectral_norm).
        generator_weight, discriminator_weight: LSGAN weights (published 1).
        feature_matching_weights: one per discriminator block (published 10
            on each of 4); all zeros skips feature matching.
    """

    def __init__(self, discriminator: Union[dict, nn.Module] = dict(
                     type='MultiScaleDiscriminator', scales=(1,), block_expansion=32,
                     max_features=512, num_blocks=4),
                 generator_weight: float = 1., discriminator_weight: float = 1.,
                 feature_matching_weights: Sequence[float] = (10., 10., 10., 10.)):
        super().__init__()
        self.discriminator = (MODELS.build(discriminator) if isinstance(discriminator, dict)
                              else discriminator)
        self.pyramid = ImagePyramid(self.discriminator.scales)
        self.generator_weight = float(generator_weight)
        self.discriminator_weight = float(discriminator_weight)
        self.feature_matching_weights = tuple(float(w) for w in feature_matching_weights)

    def _discriminate(self, images: Tensor, keypoints: Optional[KeypointsLike]
                      ) -> Dict[float, DiscriminatorOutput]:
        return self.discriminator(self.pyramid(images), keypoints)

    def generator_loss(self, prediction: Tensor, driving: Tensor,
                       kp_driving: Optional[KeypointsLike] = None) -> Dict[str, Tensor]:
        """LSGAN and feature-matching terms for the generator step."""
        check_images(prediction, 'prediction')
        check_same_shape(prediction, driving, 'prediction and driving')
        with frozen_parameters(self.discriminator):
            fake = self._discriminate(prediction, kp_driving)
            losses = {'loss_gen_gan': self.generator_weight * lsgan_generator_loss(
                [out[1] for out in fake.values()])}
            if any(self.feature_matching_weights):
                with torch.no_grad():
                    real = self._discriminate(driving, kp_driving)
                losses['loss_feature_matching'] = feature_matching_loss(
                    [real[s][0] for s in fake], [fake[s][0] for s in fake],
                    self.feature_matching_weights)
        return losses

    def discriminator_loss(self, prediction: Tensor, driving: Tensor,
                           kp_driving: Optional[KeypointsLike] = None) -> Dict[str, Tensor]:
        """LSGAN term for the discriminator step (the prediction is detached)."""
        check_images(prediction, 'prediction')
        check_same_shape(prediction, driving, 'prediction and driving')
        fake = self._discriminate(prediction.detach(), kp_driving)
        real = self._discriminate(driving, kp_driving)
        value = lsgan_discriminator_loss([real[s][1] for s in real], [fake[s][1] for s in real])
        return {'loss_disc_gan': self.discriminator_weight * value}
