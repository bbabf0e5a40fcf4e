"""LPIPS: backbone weights from a local file, mapped onto the lpips layout.

Tests where the backbone does not matter use SqueezeNet, which builds much
faster than AlexNet on a CPU."""
import pytest
import torch
import torchvision

from cpabmm.evaluation import LPIPS, MetricUnavailableError
from cpabmm.evaluation.lpips_metric import hub_cache_path
from .helpers import sample


def test_identical_frames_score_zero_and_different_ones_do_not():
    metric = LPIPS(net='squeeze', pretrained_backbone=False)
    generator = torch.Generator().manual_seed(0)
    a, b = torch.rand(2, 3, 64, 64, generator=generator)
    metric.process(None, [sample('same', 0, a, a.clone()), sample('other', 0, a, b)])
    assert metric.evaluate(2)['LPIPS'] > 0
    assert metric.per_video['same']['LPIPS'] == 0.0
    assert metric.per_video['other']['LPIPS'] > 0


@pytest.mark.parametrize('net,builder,layers', [
    ('alex', torchvision.models.alexnet, 12),
    ('squeeze', torchvision.models.squeezenet1_1, 13),
])
def test_torchvision_weights_land_in_the_lpips_backbone(tmp_path, net, builder, layers):
    """The LPIPS backbone must compute what torchvision's own network computes
    with the same weights file."""
    torch.manual_seed(0)
    reference = builder(weights=None).eval()
    path = tmp_path / f'{net}.pth'
    torch.save(reference.state_dict(), path)  # classifier keys are ignored
    metric = LPIPS(net=net, backbone_weights=str(path))
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        ours = x
        for block in metric.model.net.children():
            ours = block(ours)
        expected = reference.features[:layers](x)
    assert torch.allclose(ours, expected, atol=1e-6)


def test_default_weights_come_from_the_torch_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    path = hub_cache_path('squeeze')
    assert path.startswith(str(tmp_path / 'hub' / 'checkpoints'))
    with pytest.raises(MetricUnavailableError, match='backbone weights not found') as error:
        LPIPS(net='squeeze')
    assert path in str(error.value) and '\n' not in str(error.value)
    (tmp_path / 'hub' / 'checkpoints').mkdir(parents=True)
    torch.save(torchvision.models.squeezenet1_1(weights=None).state_dict(), path)
    LPIPS(net='squeeze')  # now found


def test_wrong_weight_file_is_a_one_line_error(tmp_path):
    path = tmp_path / 'not_alexnet.pth'
    torch.save({'fc.weight': torch.zeros(2, 2)}, path)
    with pytest.raises(ValueError, match='does not hold') as error:
        LPIPS(net='squeeze', backbone_weights=str(path))
    assert '\n' not in str(error.value)


def test_unknown_backbone_is_refused():
    with pytest.raises(ValueError, match='net must be one of'):
        LPIPS(net='resnet', pretrained_backbone=False)
