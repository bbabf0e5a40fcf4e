"""Model checkpoints: only MMEngine ones are accepted; strict loading with one
line naming the mismatches."""
import pytest
import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel
from torch import nn

from cpabmm.checkpoint import load_model_weights, read_model_checkpoint


def two_layers(hidden=4):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, hidden), nn.Linear(hidden, 1))


def test_loads_weights_and_returns_meta(tmp_path):
    source, target = two_layers(), two_layers()
    with torch.no_grad():
        target[0].weight.zero_()
    path = tmp_path / 'ckpt.pth'
    torch.save({'state_dict': source.state_dict(), 'meta': {'epoch': 3}}, path)
    assert load_model_weights(target, str(path)) == {'epoch': 3}
    torch.testing.assert_close(target[0].weight, source[0].weight)


def test_weights_of_another_model_name_the_keys(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save({'state_dict': two_layers(hidden=5).state_dict()}, path)
    with pytest.raises(ValueError) as error:
        load_model_weights(two_layers(), str(path))
    message = str(error.value)
    assert '\n' not in message
    assert '0.weight (checkpoint [5, 3], model [4, 3])' in message


def test_file_without_state_dict(tmp_path):
    path = tmp_path / 'official.pth'
    torch.save({'kp_detector': two_layers().state_dict()}, path)
    with pytest.raises(ValueError, match='convert_checkpoint.py'):
        load_model_weights(two_layers(), str(path))


def test_wrapped_model_gets_the_weights(tmp_path):
    """A model in MMEngine's DDP wrapper (a one-process gloo group)."""
    path = tmp_path / 'ckpt.pth'
    source = two_layers()
    torch.save({'state_dict': source.state_dict()}, path)
    dist.init_process_group('gloo', init_method=f'file://{tmp_path / "rendezvous"}',
                            rank=0, world_size=1)
    try:
        target = two_layers()
        with torch.no_grad():
            target[1].bias.fill_(7.0)
        load_model_weights(MMDistributedDataParallel(target), str(path))
    finally:
        dist.destroy_process_group()
    torch.testing.assert_close(target[1].bias, source[1].bias)


@pytest.mark.parametrize('content,message', [
    ({'0.weight': torch.zeros(4, 3)}, 'bare state dicts are not accepted'),
    ({'kp_detector': {}, 'generator': {}},
     'official FOMM checkpoint; convert it first: python tools/convert_checkpoint.py SRC DST '
     '--model fomm'),
])
def test_only_mmengine_checkpoints_are_accepted(tmp_path, content, message):
    path = tmp_path / 'weights.pth'
    torch.save(content, path)
    with pytest.raises(ValueError, match=message):
        read_model_checkpoint(str(path))
    with pytest.raises(ValueError, match=message):
        load_model_weights(two_layers(), str(path))


class WithCritic(nn.Module):
    """A model whose ``critic`` (like the animator's losses) only training uses."""

    def __init__(self):
        super().__init__()
        self.net = two_layers()
        self.critic = nn.Linear(1, 1)

    def training_only_modules(self):
        return ('critic',)


def save_weights(path, state_dict):
    torch.save({'state_dict': state_dict, 'meta': {}}, path)
    return str(path)


def test_inference_does_without_training_only_modules(tmp_path):
    source = WithCritic()
    weights = {k: v for k, v in source.state_dict().items() if not k.startswith('critic.')}
    path = save_weights(tmp_path / 'inference.pth', weights)
    target = WithCritic()
    critic = target.critic.weight.detach().clone()
    with torch.no_grad():
        target.net[0].weight.zero_()
    load_model_weights(target, path)
    torch.testing.assert_close(target.net[0].weight, source.net[0].weight)
    torch.testing.assert_close(target.critic.weight, critic)  # kept as it was
    with pytest.raises(ValueError) as error:
        load_model_weights(WithCritic(), path, training=True)
    assert '\n' not in str(error.value)
    assert 'has no weights for critic, which training needs' in str(error.value)


@pytest.mark.parametrize('dropped,missing', [
    (('net.1.bias',), '1 missing keys: net.1.bias'),  # an inference key
    (('critic.bias',), '1 missing keys: critic.bias'),  # a training-only module in part
], ids=['inference-key', 'part-of-a-training-only-module'])
def test_other_missing_keys_are_still_named(tmp_path, dropped, missing):
    weights = {k: v for k, v in WithCritic().state_dict().items() if k not in dropped}
    path = save_weights(tmp_path / 'partial.pth', weights)
    for training in (False, True):
        with pytest.raises(ValueError, match=f'{missing}$'):
            load_model_weights(WithCritic(), path, training=training)


def test_training_loads_training_only_modules(tmp_path):
    source = WithCritic()
    path = save_weights(tmp_path / 'full.pth', source.state_dict())
    target = WithCritic()
    load_model_weights(target, path, training=True)
    torch.testing.assert_close(target.critic.weight, source.critic.weight)
