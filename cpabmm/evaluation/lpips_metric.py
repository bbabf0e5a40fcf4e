"""LPIPS with backbone weights read from a local file (never downloaded)."""
from __future__ import annotations

import os.path as osp
import warnings
from typing import Optional

import torch
from torch import nn

from cpabmm.registry import METRICS
from .errors import MetricUnavailableError
from .paired_metric import PairedImageMetric
from .weights import read_weights

#: The torchvision weight enum of each LPIPS backbone (its ImageNet URL names
#: the file the torch hub cache stores).
BACKBONE_WEIGHTS = {
    'alex': 'AlexNet_Weights',
    'vgg': 'VGG16_Weights',
    'squeeze': 'SqueezeNet1_1_Weights',
}


def hub_cache_path(net: str) -> str:
    """Where ``torchvision`` caches the ImageNet weights of backbone ``net``."""
    import torchvision.models
    url = getattr(torchvision.models, BACKBONE_WEIGHTS[net]).IMAGENET1K_V1.url
    return osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(url))


def read_backbone_weights(net: str, path: Optional[str]) -> dict:
    """torchvision's ImageNet weights of ``net`` from ``path`` or the hub
    cache; a one-line :class:`MetricUnavailableError` when absent."""
    return read_weights(
        path or hub_cache_path(net), f'LPIPS ({net}) backbone weights',
        f"copy torchvision's {osp.basename(hub_cache_path(net))} there or set "
        'backbone_weights=PATH')


def backbone_state_dict(lpips_model: nn.Module, weights: dict) -> dict:
    """Rename torchvision's ``features.<i>.*`` weights to the ``slice<k>.<i>.*``
    layout of the LPIPS backbone, which splits ``features`` into slices."""
    renamed = {}
    for slice_name, layers in lpips_model.net.named_children():
        for index, _ in layers.named_children():
            prefix = f'features.{index}.'
            renamed.update({
                f'{slice_name}.{index}.{key[len(prefix):]}': value
                for key, value in weights.items() if key.startswith(prefix)
            })
    return renamed


def load_backbone(lpips_model: nn.Module, weights: dict, source: str) -> None:
    """Load torchvision ImageNet ``weights`` (read from ``source``) into the
    LPIPS backbone."""
    try:
        lpips_model.net.load_state_dict(backbone_state_dict(lpips_model, weights))
    except (RuntimeError, AttributeError):
        raise ValueError(
            f'{source} does not hold the torchvision ImageNet weights of the '
            f'{lpips_model.pnet_type} backbone') from None


@METRICS.register_module()
class LPIPS(PairedImageMetric):
    """Learned perceptual image patch similarity (Zhang et al. 2018) of the
    ``lpips`` package, per frame, averaged over frames.

    The linear calibration layers ship inside the ``lpips`` package; the
    backbone's ImageNet weights are torchvision's and are read from
    ``backbone_weights`` or, by default, from the torch hub cache
    (``$TORCH_HOME/hub/checkpoints``). Nothing is downloaded.

    Args:
        net: ``'alex'`` (the usual choice), ``'vgg'`` or ``'squeeze'``.
        backbone_weights: local file with torchvision's ImageNet weights of
            ``net``; None looks in the torch hub cache.
        pretrained_backbone: False keeps a randomly initialised backbone
            (for tests only: the values then mean nothing).
        **kwargs: ``pred_key``, ``gt_key`` and the ``BaseMetric`` arguments.
    """

    statistics = ('LPIPS', )

    def __init__(self,
                 net: str = 'alex',
                 backbone_weights: Optional[str] = None,
                 pretrained_backbone: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if net not in BACKBONE_WEIGHTS:
            raise ValueError(
                f'LPIPS: net must be one of {sorted(BACKBONE_WEIGHTS)}, got {net!r}')
        try:
            import lpips
        except ImportError:
            raise MetricUnavailableError(
                'LPIPS needs the lpips package: pip install lpips') from None
        weights = (read_backbone_weights(net, backbone_weights)
                   if pretrained_backbone else None)
        with warnings.catch_warnings():  # torchvision's `pretrained` notice
            warnings.simplefilter('ignore', UserWarning)
            self.model = lpips.LPIPS(net=net, pnet_rand=True, verbose=False)
        if weights is not None:
            load_backbone(self.model, weights, backbone_weights or hub_cache_path(net))
        # The network follows the frames' device in score().
        self.model.eval().requires_grad_(False)

    def score(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        self.model.to(pred.device)
        return self.model(pred.float(), gt.float(), normalize=True).flatten().double()
