"""ResNet-18 from torchvision, with a configurable first convolution."""
from torch import nn


def resnet18(in_channels: int, num_outputs: int) -> nn.Module:
    """A randomly initialised torchvision ResNet-18 taking ``in_channels``
    channels and ending in a ``num_outputs`` linear layer."""
    from torchvision.models import resnet18 as torchvision_resnet18
    network = torchvision_resnet18(weights=None, num_classes=num_outputs)
    if in_channels != 3:
        network.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3,
                                  bias=False)
    return network
