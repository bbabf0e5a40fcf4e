"""The fixtures' weight recipe: official-layout weights without shipping any.

See ``../shared/fixtures/README.md``: every official key gets values drawn
from a generator seeded with the CRC-32 of its name.
"""
import math
import zlib
from collections import OrderedDict

import torch

SPECIAL_OFFSETS = {
    'bg_predictor.bg_encoder.fc.bias': torch.tensor([1., 0., 0., 0., 1., 0.]),
}


def recipe_tensor(key: str, shape) -> torch.Tensor:
    """The value of the official parameter or buffer ``key``."""
    shape = tuple(shape)
    if key.endswith('num_batches_tracked'):
        return torch.tensor(0)
    generator = torch.Generator().manual_seed(zlib.crc32(key.encode()))
    x = torch.randn(shape, generator=generator)
    if key.endswith('running_var'):
        value = 1 + 0.1 * x.abs()
    elif key.endswith('running_mean'):
        value = 0.1 * x
    elif len(shape) >= 2:
        value = x * math.sqrt(2 / math.prod(shape[1:]))
    elif key.endswith('weight'):
        value = 1 + 0.1 * x
    else:
        value = 0.1 * x
    if key == 'bg_predictor.bg_encoder.fc.weight':
        value = value * 0.01
    if key in SPECIAL_OFFSETS:
        value = value + SPECIAL_OFFSETS[key]
    if key == 'kp_detector.jacobian.bias':
        value = value + torch.tensor([1., 0., 0., 1.]).repeat(shape[0] // 4)
    return value


def official_state_dict(shapes) -> 'OrderedDict[str, torch.Tensor]':
    """Flat official-layout state dict from a fixture's ``state_dict_shapes``."""
    return OrderedDict((key, recipe_tensor(key, shape)) for key, shape in shapes.items())


def split_official(flat) -> dict:
    """Nest a flat state dict by entry, as official checkpoint files do."""
    nested = {}
    for key, value in flat.items():
        entry, rest = key.split('.', 1)
        nested.setdefault(entry, OrderedDict())[rest] = value
    return nested


def recipe_weights_for(model, official_family: str, shapes) -> 'OrderedDict[str, torch.Tensor]':
    """Recipe weights in our layout for every network weight of ``model``
    (any widths, e.g. CPABMM's dense motion network for N = 11): each drawn
    under the official key that ``official_family``'s converter maps to it
    (keys of the fixture's ``state_dict_shapes``), with the model's shape.
    The motion model's buffers keep their values."""
    from cpabmm.checkpoint import official_format
    official_key = {official_format(official_family).convert_key(key): key for key in shapes}
    weights = OrderedDict()
    for key, value in model.state_dict().items():
        if key.startswith('motion.'):
            weights[key] = value
        else:
            weights[key] = recipe_tensor(official_key[key], value.shape)
    return weights
