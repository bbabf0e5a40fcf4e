"""A checkpoint whose pickle would run code is refused, never executed, by
every way cpabmm loads checkpoints: init_model, MMEngine's load_checkpoint,
tools/demo.py --checkpoint, a verified download followed by loading, and the
official-checkpoint converter."""
import os
import os.path as osp

import pytest
import torch

from cpabmm.apis import init_model
from cpabmm.checkpoint import read_checkpoint
from cpabmm.zoo import fetch_url
from tests.tools.loading import load_tool

from .conftest import LITE_CONFIG, sha256_of


class CreatesMarker:
    """Unpickling this object creates the folder ``marker``."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def malicious_checkpoint(path: str, marker: str, entry: str = 'state_dict') -> str:
    torch.save({entry: {'weight': torch.zeros(2), 'payload': CreatesMarker(marker)},
                'meta': {}}, path)
    return path


@pytest.fixture
def trap(tmp_path):
    """``(checkpoint path, marker path)``."""
    marker = str(tmp_path / 'code-was-run')
    return malicious_checkpoint(str(tmp_path / 'evil.pth'), marker), marker


def test_the_payload_is_live(tmp_path):
    """Control: full unpickling does run the payload (so the refusals below
    are what keeps the marker away)."""
    marker = str(tmp_path / 'control-marker')
    path = malicious_checkpoint(str(tmp_path / 'control.pth'), marker)
    torch.load(path, weights_only=False)
    assert osp.isdir(marker)


def test_init_model_refuses(trap):
    path, marker = trap
    with pytest.raises(ValueError, match='not a weights-only checkpoint'):
        init_model(LITE_CONFIG, path)
    assert not osp.exists(marker)


def test_mmengine_load_checkpoint_refuses(trap):
    from mmengine.runner import load_checkpoint
    path, marker = trap
    with pytest.raises(ValueError, match='not a weights-only checkpoint'):
        load_checkpoint(torch.nn.Linear(1, 1), path)
    assert not osp.exists(marker)


def test_demo_checkpoint_refuses(trap, tmp_path, capsys):
    from PIL import Image
    path, marker = trap
    Image.new('RGB', (64, 64), 'gray').save(tmp_path / 'source.png')
    demo = load_tool('demo')
    status = demo.main(['--source', str(tmp_path / 'source.png'),
                        '--driving', str(tmp_path / 'source.png'),
                        '--config', LITE_CONFIG, '--checkpoint', path,
                        '--output', str(tmp_path / 'out.mp4'), '--device', 'cpu'])
    assert status == 2
    assert 'not a weights-only checkpoint' in capsys.readouterr().err
    assert not osp.exists(marker)
    assert not osp.exists(tmp_path / 'out.mp4')


def test_verified_download_is_still_loaded_safely(trap, server, tmp_path):
    """A matching SHA-256 says the bytes are the publisher's, not that they
    are harmless: the downloaded file is still loaded weights-only."""
    path, marker = trap
    with open(path, 'rb') as f:
        data = f.read()
    cached = fetch_url(server.serve('/evil.pth', data), sha256_of(data),
                       str(tmp_path / 'cache'), progress=False)
    with pytest.raises(ValueError, match='not a weights-only checkpoint'):
        read_checkpoint(cached)
    with pytest.raises(ValueError, match='not a weights-only checkpoint'):
        init_model(LITE_CONFIG, cached)
    assert not osp.exists(marker)


def test_converter_refuses_without_trust(tmp_path, capsys):
    marker = str(tmp_path / 'converter-marker')
    path = malicious_checkpoint(str(tmp_path / 'vox.pth.tar'), marker, entry='kp_detector')
    convert = load_tool('convert_checkpoint')
    assert convert.main([path, str(tmp_path / 'out.pth'), '--model', 'tpsmm']) == 1
    assert '--trust-pickle' in capsys.readouterr().err
    assert not osp.exists(marker)
    assert not osp.exists(tmp_path / 'out.pth')
