"""tools/demo.py --model NAME: a zoo name or alias resolves to its config and
its verified checkpoint (downloaded into the cache when needed), end to end
on a small checkpoint of the lite CPABMM config through a temporary index."""

import pytest
import torch
from PIL import Image

from cpabmm.apis import init_model
from cpabmm.zoo import resolve_model
from tests.apis.clips import captured_log, video_info
from tests.datasets.media import astronaut, carphone, write_container
from tests.tools.loading import load_tool

from .conftest import LITE_CONFIG, folder_listing, sha256_of, write_index

NAME = 'cpabmm_lite_test'


@pytest.fixture(scope='module')
def demo():
    return load_tool('demo')


@pytest.fixture
def zoo(tmp_path, server, lite_checkpoint, monkeypatch):
    """A temporary index (selected by CPABMM_MODEL_INDEX) whose lite entry
    is served by the local server, next to an official entry."""
    with open(lite_checkpoint, 'rb') as f:
        data = f.read()
    path = write_index(tmp_path / 'zoo', [
        {'Name': NAME, 'Alias': 'lite', 'Config': LITE_CONFIG,
         'Weights': server.serve('/lite.pth', data), 'SHA-256': sha256_of(data)},
        {'Name': 'tpsmm_official', 'Alias': 'tpsmm-vox', 'Config': LITE_CONFIG,
         'Official Checkpoint': {'File': 'vox.pth.tar', 'Locations': ['https://example.org'],
                                 'Convert': 'python tools/convert_checkpoint.py vox.pth.tar '
                                            'out.pth --model tpsmm'}}])
    monkeypatch.setenv('CPABMM_MODEL_INDEX', path)
    return path


@pytest.fixture(scope='module')
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp('media')
    Image.fromarray(astronaut()).save(root / 'portrait.png')
    write_container(str(root / 'talk.mp4'), carphone(3))
    return dict(source=str(root / 'portrait.png'), driving=str(root / 'talk.mp4'))


def demo_args(media, output, *extra):
    return ['--source', media['source'], '--driving', media['driving'], '--output', output,
            '--device', 'cpu', *extra]


def test_demo_by_alias_end_to_end(demo, zoo, media, tmp_path, isolated_cache):
    out = str(tmp_path / 'out' / 'result.mp4')
    with captured_log() as log:
        assert demo.main(demo_args(media, out, '--model', 'lite', '--side-by-side')) == 0
    assert video_info(out) == dict(frames=3, size=(64, 64), fps=25.0, audio=0)
    assert video_info(str(tmp_path / 'out' / 'result_side_by_side.mp4'))['frames'] == 3
    assert folder_listing(isolated_cache) == ['lite.pth']
    assert 'RANDOM WEIGHTS' not in log.getvalue()
    assert f'wrote {out}' in log.getvalue()


def test_model_gets_the_checkpoint_weights_offline(zoo, server, lite_checkpoint):
    """After one download the name resolves with the server gone, and the
    model built from it holds the checkpoint's weights."""
    resolve_model(NAME, progress=False)
    server.stop()
    config, checkpoint = resolve_model('LITE', progress=False)
    assert config == LITE_CONFIG
    model = init_model(config, checkpoint)
    saved = torch.load(lite_checkpoint, weights_only=True)['state_dict']
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved[key]), key


@pytest.mark.parametrize('extra, message', [
    (['--model', 'lite', '--config', LITE_CONFIG], '--model NAME brings its own config'),
    (['--model', 'lite', '--random-weights'], '--model NAME brings its own config'),
    (['--model', 'lit'], "unknown model 'lit' (close names: lite"),
    (['--model', 'tpsmm-vox'], 'must be converted first: python tools/convert_checkpoint.py'),
])
def test_demo_model_errors(demo, zoo, media, tmp_path, capsys, isolated_cache, extra, message):
    out = tmp_path / 'out'
    assert demo.main(demo_args(media, str(out / 'r.mp4'), *extra)) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert folder_listing(out) == [] and folder_listing(isolated_cache) == []


def test_demo_corrupt_download_exits_2(demo, zoo, server, media, tmp_path, capsys,
                                       isolated_cache):
    server.serve('/lite.pth', b'not the checkpoint')
    out = tmp_path / 'out'
    assert demo.main(demo_args(media, str(out / 'r.mp4'), '--model', NAME)) == 2
    assert 'SHA-256 mismatch' in capsys.readouterr().err
    assert folder_listing(out) == [] and folder_listing(isolated_cache) == []
