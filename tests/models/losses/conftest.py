"""Small real images and tiny frozen networks for the loss tests."""
import pytest
import torch
import torch.nn.functional as F
from skimage import data


def astronaut(size):
    """``skimage.data.astronaut()`` as a ``[1, 3, size, size]`` float image in [0, 1]."""
    image = torch.from_numpy(data.astronaut()).permute(2, 0, 1)[None].float() / 255
    return F.interpolate(image, size=(size, size), mode='area')


@pytest.fixture(scope='session')
def photo():
    return astronaut(128)


@pytest.fixture(scope='session')
def small_photo():
    return astronaut(64)


def shift(images, pixels):
    """Translate along x by whole pixels, repeating the border column."""
    if pixels == 0:
        return images.clone()
    padded = F.pad(images, (pixels, 0, 0, 0), mode='replicate')
    return padded[..., :images.shape[-1]]


def grads_of(module):
    """The gradients of all parameters of ``module`` (None where there is none)."""
    return [p.grad for p in module.parameters()]
