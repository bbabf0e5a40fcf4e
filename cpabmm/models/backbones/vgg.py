"""VGG-19 features for the perceptual loss (relu1_1 ... relu5_1)."""
from __future__ import annotations

from typing import List, Optional

from torch import Tensor, nn

from cpabmm.checkpoint import read_state_dict
from cpabmm.registry import MODELS
from .frozen import (FrozenBackbone, build_context, imagenet_normalize, load_exact,
                     resolve_checkpoint)

#: torchvision's configuration 'E' up to conv5_1 ('M': 2x2 max pooling)
VGG19_LAYOUT = (64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512)
#: indices (in torchvision's ``features``) of relu1_1, relu2_1, relu3_1, relu4_1, relu5_1
VGG19_OUTPUT_LAYERS = (1, 6, 11, 20, 29)
VGG19_FILENAME = 'vgg19-dcbb9e9d.pth'
VGG19_URL = 'https://download.pytorch.org/models/' + VGG19_FILENAME


def vgg_features(layout=VGG19_LAYOUT) -> nn.Sequential:
    """3x3 convolutions with ReLU and max pooling, indexed as torchvision's ``features``."""
    layers: List[nn.Module] = []
    channels = 3
    for item in layout:
        if item == 'M':
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(channels, item, kernel_size=3, padding=1), nn.ReLU()]
            channels = item
    return nn.Sequential(*layers)


@MODELS.register_module()
class VGG19(FrozenBackbone):
    """Frozen VGG-19 returning the relu1_1, relu2_1, relu3_1, relu4_1 and
    relu5_1 activations of ImageNet-normalised input (as FOMM and TPSMM).

    Args:
        pretrained: load torchvision's ImageNet weights (``vgg19-dcbb9e9d.pth``).
            ``False`` gives random weights and is meant for tests only.
        checkpoint: path of that file; by default the torch hub cache,
            ``torch.hub.get_dir()/checkpoints/vgg19-dcbb9e9d.pth``. Only the
            ``features.*`` entries up to conv5_1 are read.
    """

    def __init__(self, pretrained: bool = True, checkpoint: Optional[str] = None):
        super().__init__()
        path = resolve_checkpoint(
            checkpoint, VGG19_FILENAME, 'VGG-19',
            f'download {VGG19_URL} into that folder, or pass checkpoint=PATH'
        ) if pretrained else None
        with build_context(pretrained):
            self.features = vgg_features()
        if path:
            weights = read_state_dict(path)
            wanted = {f'features.{key}' for key in self.features.state_dict()}
            load_exact(self.features,
                       {key[len('features.'):]: value for key, value in weights.items()
                        if key in wanted},
                       path, 'VGG-19 (torchvision layout)')
        self.freeze()

    def forward(self, images: Tensor) -> List[Tensor]:
        """``[B, 3, H, W]`` in [0, 1] -> the five activations, finest first."""
        out = imagenet_normalize(images)
        features = []
        for index, layer in enumerate(self.features):
            out = layer(out)
            if index in VGG19_OUTPUT_LAYERS:
                features.append(out)
        return features
