"""VGG-19 against torchvision's VGG-19 with the same (random) weights."""
import os

import pytest
import torch
from torchvision.models.vgg import cfgs, make_layers

from cpabmm.models.backbones import VGG19
from cpabmm.models.backbones.vgg import VGG19_FILENAME

RELU_INDICES = (1, 6, 11, 20, 29)  # relu1_1, relu2_1, relu3_1, relu4_1, relu5_1


def torchvision_features(config: str) -> torch.nn.Sequential:
    """torchvision's own ``vgg.features`` for configuration 'E' (VGG-19) or 'D' (VGG-16)."""
    torch.manual_seed(0)
    return make_layers(cfgs[config]).eval()


@pytest.fixture(scope='module')
def torchvision_vgg():
    return torchvision_features('E')


@pytest.fixture(scope='module')
def torchvision_checkpoint(torchvision_vgg, tmp_path_factory):
    """A torchvision-layout file: ``features.*`` and a classifier entry."""
    path = tmp_path_factory.mktemp('hub') / VGG19_FILENAME
    state_dict = {f'features.{k}': v for k, v in torchvision_vgg.state_dict().items()}
    state_dict['classifier.6.bias'] = torch.zeros(1000)
    torch.save(state_dict, path)
    return path


def reference_features(vgg, images):
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    out, features = (images - mean) / std, []
    for index, layer in enumerate(vgg[:30]):
        out = layer(out)
        if index in RELU_INDICES:
            features.append(out.clone())
    return features


def test_vgg19_matches_torchvision_relu_outputs(torchvision_vgg, torchvision_checkpoint):
    ours = VGG19(checkpoint=str(torchvision_checkpoint))
    images = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        expected = reference_features(torchvision_vgg, images)
        actual = ours(images)
    assert [f.shape[1] for f in actual] == [64, 128, 256, 512, 512]
    for a, b in zip(actual, expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_vgg19_reads_the_torch_hub_cache(torchvision_checkpoint, monkeypatch, tmp_path):
    checkpoints = tmp_path / 'hub' / 'checkpoints'
    checkpoints.mkdir(parents=True)
    os.symlink(torchvision_checkpoint, checkpoints / VGG19_FILENAME)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    ours = VGG19()
    stored = torch.load(torchvision_checkpoint, weights_only=True)
    assert torch.equal(ours.features[28].weight, stored['features.28.weight'])


def test_vgg19_without_a_file_names_the_expected_path(monkeypatch, tmp_path):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    with pytest.raises(FileNotFoundError) as error:
        VGG19()
    message = str(error.value)
    assert '\n' not in message
    assert str(tmp_path / 'hub' / 'checkpoints' / VGG19_FILENAME) in message
    assert 'download.pytorch.org' in message and 'pretrained=False' in message


def test_vgg16_file_is_refused(tmp_path):
    path = tmp_path / 'vgg16.pth'
    torch.save({f'features.{k}': v for k, v in torchvision_features('D').state_dict().items()},
               path)
    with pytest.raises(ValueError, match='lacks keys of VGG-19'):
        VGG19(checkpoint=str(path))
