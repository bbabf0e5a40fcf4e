"""Official-layout FOMM pieces the fixtures do not cover: the discriminator of
the adversarial recipes, and a whole MGif checkpoint made with the weight recipe.

:class:`OfficialMultiScaleDiscriminator` is built the way FOMM's
``modules/discriminator.py`` builds ``MultiScaleDiscriminator`` (module names
``discs.<scale>.down_blocks.N.conv``/``.norm``, ``discs.<scale>.conv``; the
old hook-based ``torch.nn.utils.spectral_norm``), so its state dict has the
official keys and its outputs are the reference for the converted weights.
"""
import os.path as osp
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from tests.models.official_weights import recipe_tensor

#: FOMM's discriminator_params of config/mgif-256.yaml
MGIF_DISCRIMINATOR = dict(scales=[1], block_expansion=32, max_features=512, num_blocks=4,
                          sn=True)


def _maybe_spectral(conv: nn.Conv2d, sn: bool) -> nn.Module:
    return nn.utils.spectral_norm(conv) if sn else conv


class OfficialDownBlock(nn.Module):
    def __init__(self, in_features, out_features, norm, pool, sn):
        super().__init__()
        self.conv = _maybe_spectral(nn.Conv2d(in_features, out_features, kernel_size=4), sn)
        self.norm = nn.InstanceNorm2d(out_features, affine=True) if norm else None
        self.pool = pool

    def forward(self, x):
        out = self.conv(x)
        if self.norm is not None:
            out = self.norm(out)
        out = F.leaky_relu(out, 0.2)
        return F.avg_pool2d(out, (2, 2)) if self.pool else out


class OfficialDiscriminator(nn.Module):
    def __init__(self, num_channels=3, block_expansion=64, num_blocks=4, max_features=512,
                 sn=False):
        super().__init__()
        widths = [num_channels] + [min(max_features, block_expansion * 2 ** (i + 1))
                                   for i in range(num_blocks)]
        self.down_blocks = nn.ModuleList(
            OfficialDownBlock(widths[i], widths[i + 1], norm=i != 0, pool=i != num_blocks - 1,
                              sn=sn)
            for i in range(num_blocks))
        self.conv = _maybe_spectral(nn.Conv2d(widths[-1], 1, kernel_size=1), sn)

    def forward(self, x):
        feature_maps = []
        out = x
        for block in self.down_blocks:
            out = block(out)
            feature_maps.append(out)
        return feature_maps, self.conv(out)


class OfficialMultiScaleDiscriminator(nn.Module):
    def __init__(self, scales=(), **kwargs):
        super().__init__()
        self.discs = nn.ModuleDict({str(scale).replace('.', '-'): OfficialDiscriminator(**kwargs)
                                    for scale in scales})


def official_discriminator_state(passes: int = 3, **params) -> 'OrderedDict[str, torch.Tensor]':
    """A trained-looking official discriminator's weights (``discriminator.``
    prefix): random weights, then ``passes`` training-mode passes so that the
    spectral norms' ``u``/``v`` are power-iterated as in a real checkpoint."""
    torch.manual_seed(0)
    discriminator = OfficialMultiScaleDiscriminator(**params)
    with torch.no_grad():
        for _ in range(passes):
            for disc in discriminator.discs.values():
                disc(torch.rand(1, 3, 64, 64))
    return OrderedDict((f'discriminator.{key}', value.clone())
                       for key, value in discriminator.state_dict().items())


def mgif_official_checkpoint(fixtures_dir, discriminator: bool) -> dict:
    """An official FOMM MGif checkpoint (``mgif-cpk.pth.tar``'s layout) with
    the recipe's weights: the VoxCeleb fixture's networks with MGif's single
    Jacobian map, the optimiser entries, and (when asked) the discriminator."""
    shapes = dict(torch.load(osp.join(fixtures_dir, 'fomm_vox-256.pt'),
                             weights_only=True)['state_dict_shapes'])
    for key in ('kp_detector.jacobian.weight', 'kp_detector.jacobian.bias'):
        shapes[key] = [4] + list(shapes[key][1:])  # single_jacobian_map: 4 channels
    if discriminator:
        shapes.update((key, list(value.shape)) for key, value in
                      official_discriminator_state(passes=0, **MGIF_DISCRIMINATOR).items())
    checkpoint = {'epoch': 99}
    for key, shape in shapes.items():
        entry, rest = key.split('.', 1)
        checkpoint.setdefault(entry, OrderedDict())[rest] = recipe_tensor(key, shape)
    for entry in ('generator', 'kp_detector') + (('discriminator',) if discriminator else ()):
        checkpoint[f'optimizer_{entry}'] = {
            'state': {}, 'param_groups': [{'lr': 2e-4, 'betas': (0.5, 0.999), 'params': [0]}]}
    return checkpoint
