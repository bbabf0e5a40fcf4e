"""LPIPS with backbone weights read from a local file (never downloaded)."""
from __future__ import annotations

import os.path as osp
import pickle
import warnings
from typing import Optional

import torch
from torch import nn

from cpabmm.registry import METRICS
from .errors import MetricUnavailableError
from .paired_metric import PairedImageMetric

#: torchvision's ImageNet weights of each LPIPS backbone (the file names the
#: torch hub cache stores them under).
BACKBONE_WEIGHTS = {
    'alex': ('alexnet', 'AlexNet_Weights'),
    'vgg': ('vgg16', 'VGG16_Weights'),
    'squeeze': ('squeezenet1_1', 'SqueezeNet1_1_Weights'),
}


def hub_cache_path(net: str) -> str:
    """Where ``torchvision`` caches the ImageNet weights of backbone ``net``."""
    import torchvision.models
    _, weights_enum = BACKBONE_WEIGHTS[net]
    url = getattr(torchvision.models, weights_enum).IMAGENET1K_V1.url
    return osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(url))


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


def load_backbone(lpips_model: nn.Module, path: str) -> None:
    """Load torchvision ImageNet weights from ``path`` into the backbone."""
    try:
        weights = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError:
        raise ValueError(
            f'{path} is not a plain torchvision state dict') from None
    try:
        lpips_model.net.load_state_dict(backbone_state_dict(lpips_model, weights))
    except (RuntimeError, AttributeError):
        raise ValueError(
            f'{path} does not hold the torchvision ImageNet weights of the '
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
        device: where the network runs; None follows the frames.
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
        path = None
        if pretrained_backbone:
            path = osp.expanduser(backbone_weights or hub_cache_path(net))
            if not osp.isfile(path):
                raise MetricUnavailableError(
                    f'LPIPS ({net}) backbone weights not found: {path} (copy '
                    f"torchvision's {osp.basename(hub_cache_path(net))} there "
                    'or set backbone_weights=PATH)')
        with warnings.catch_warnings():  # torchvision's `pretrained` notice
            warnings.simplefilter('ignore', UserWarning)
            self.model = lpips.LPIPS(net=net, pnet_rand=True, verbose=False)
        if path is not None:
            load_backbone(self.model, path)
        self.model.eval().requires_grad_(False)

    def score(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        self.model.to(pred.device)
        return self.model(pred.float(), gt.float(), normalize=True).flatten().double()
