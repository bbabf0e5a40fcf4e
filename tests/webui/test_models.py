"""cpabmm.webui.models: the models the web app offers (bundled, cached,
converted official checkpoints, command-line pairs), found without any
download."""
import os
import os.path as osp

import pytest
import torch
import yaml

from cpabmm.zoo import ChecksumError, cached_path, file_sha256, load_model_index
from cpabmm.zoo.index import OfficialCheckpoint
from cpabmm.webui import available_modes, find_choices, list_models

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LITE = {name: osp.join(REPO, 'configs', name, f'{name}_k10-lite_1xb8-20e_synthetic-64.py')
        for name in ('cpabmm', 'tpsmm', 'fomm')}
BUNDLED = ['cpabmm-lite', 'cpabmm-lite-40e', 'tpsmm-lite', 'fomm-lite']


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    """Every test gets its own, empty checkpoint cache."""
    monkeypatch.setenv('CPABMM_HOME', str(tmp_path / 'home'))
    monkeypatch.delenv('CPABMM_MODEL_INDEX', raising=False)
    cache = tmp_path / 'home' / 'checkpoints'
    cache.mkdir(parents=True)
    return cache


def test_bundled_checkpoints_are_offered_under_their_aliases():
    choices = list_models()
    assert [choice.label for choice in choices] == BUNDLED
    lite = choices[0]
    assert lite.origin == 'bundled' and lite.image_size == (64, 64) and not lite.has_avd
    assert lite.config == LITE['cpabmm']
    assert lite.description == 'cpabmm-lite (64x64, bundled)'
    assert lite.checkpoint_file() == lite.checkpoint  # verified in place


@pytest.mark.parametrize('where', ['cache', 'checkpoint dir'])
def test_converted_official_checkpoint_appears_under_its_zoo_name(where, empty_cache,
                                                                  tmp_path):
    folder = empty_cache if where == 'cache' else tmp_path / 'converted'
    folder.mkdir(exist_ok=True)
    (folder / 'tpsmm_vox-256.pth').write_bytes(b'converted weights')
    dirs = [str(folder)] if where == 'checkpoint dir' else []
    choices = {choice.label: choice for choice in list_models(dirs)}
    vox = choices['tpsmm-vox']
    assert vox.origin == 'converted' and vox.image_size == (256, 256) and vox.has_avd
    assert vox.config.endswith('configs/tpsmm/tpsmm_k10_1xb28-100e_vox-256.py')
    assert vox.checkpoint_file() == str(folder / 'tpsmm_vox-256.pth')
    assert 'fomm-vox' not in choices  # not converted: not offered
    assert list(choices) == ['cpabmm-lite', 'cpabmm-lite-40e', 'tpsmm-lite', 'tpsmm-vox',
                             'fomm-lite']  # the index's order


def test_converted_name_is_the_convert_commands_output():
    official = OfficialCheckpoint(
        'vox.pth.tar', ('https://host/',),
        "python tools/convert_checkpoint.py --trust-pickle 'my vox.pth.tar' "
        'out/tpsmm_vox-256.pth --model tpsmm')
    assert official.converted_name == 'tpsmm_vox-256.pth'
    assert OfficialCheckpoint('a', (), 'convert it by hand').converted_name is None
    names = {entry.name: entry.official.converted_name
             for entry in load_model_index().entries if entry.official}
    assert names['fomm_k10_vox-256_official'] == 'fomm_vox-256.pth'


def write_index(folder, url: str, sha256: str) -> str:
    """A model-index.yml with one entry whose weights are a download."""
    meta = {'Collections': [{'Name': 'Test'}],
            'Models': [{'Name': 'downloaded_lite', 'Alias': 'dl-lite', 'Config': LITE['fomm'],
                        'Weights': url, 'SHA-256': sha256}]}
    (folder / 'metafile.yml').write_text(yaml.safe_dump(meta))
    (folder / 'model-index.yml').write_text(yaml.safe_dump({'Import': ['metafile.yml']}))
    return str(folder / 'model-index.yml')


def test_downloads_are_offered_once_cached_and_never_fetched(tmp_path):
    weights = tmp_path / 'weights.pth'
    weights.write_bytes(b'some weights')
    url = 'https://example.invalid/zoo/fomm-lite.pth'
    index = load_model_index(write_index(tmp_path, url, file_sha256(str(weights))))
    assert list_models(index=index) == []  # not in the cache: not offered, not fetched
    cached = cached_path(url, file_sha256(str(weights)))
    assert cached.endswith('/checkpoints/fomm-lite.pth')
    os.replace(weights, cached)
    (choice,) = list_models(index=index)
    assert (choice.label, choice.origin, choice.checkpoint) == ('dl-lite', 'cached', cached)
    assert choice.checkpoint_file() == cached  # verified, no network
    with open(cached, 'ab') as stream:
        stream.write(b'!')
    with pytest.raises(ChecksumError):
        choice.checkpoint_file()
    os.remove(cached)
    with pytest.raises(ValueError, match=r'dl-lite: .* is gone; fetch it again with '
                       r'`python tools/download.py downloaded_lite`'):
        choice.checkpoint_file()


def test_command_line_pairs(tmp_path):
    checkpoint = tmp_path / 'mine.pth'
    torch.save({'state_dict': {}}, checkpoint)
    choices = list_models(pairs=[(LITE['tpsmm'], str(checkpoint))])
    mine = choices[-1]
    assert (mine.label, mine.origin, mine.checkpoint) == (
        'tpsmm_k10-lite_1xb8-20e_synthetic-64', 'command line', str(checkpoint))
    assert mine.image_size == (64, 64)
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': {}}, other)
    labels = [c.label for c in list_models(pairs=[(LITE['tpsmm'], str(checkpoint)),
                                                  (LITE['tpsmm'], str(other))])]
    assert labels[-2:] == ['tpsmm_k10-lite_1xb8-20e_synthetic-64 (mine)',
                           'tpsmm_k10-lite_1xb8-20e_synthetic-64 (other)']
    with pytest.raises(ValueError, match='no such checkpoint file'):
        list_models(pairs=[(LITE['tpsmm'], str(tmp_path / 'missing.pth'))])
    with pytest.raises(ValueError, match='two models are called'):
        list_models(pairs=[(LITE['tpsmm'], str(checkpoint))] * 2)
    with pytest.raises(ValueError, match='--checkpoint-dir .*: no such folder'):
        list_models([str(tmp_path / 'nowhere')])


def test_choosing_models_and_modes(tmp_path, empty_cache):
    (empty_cache / 'tpsmm_vox-256.pth').write_bytes(b'converted')
    (empty_cache / 'fomm_vox-256.pth').write_bytes(b'converted')
    choices = list_models()
    picked = find_choices(choices, ['fomm-lite', 'cpabmm-lite'])
    assert [choice.label for choice in picked] == ['fomm-lite', 'cpabmm-lite']
    with pytest.raises(ValueError, match='^choose at least one model$'):
        find_choices(choices, [])
    with pytest.raises(ValueError, match="unknown model 'nope'; this app offers cpabmm-lite"):
        find_choices(choices, ['nope'])
    vox = find_choices(choices, ['tpsmm-vox'])
    assert available_modes(vox) == ('standard', 'relative', 'avd')
    assert available_modes(find_choices(choices, ['tpsmm-vox', 'fomm-vox'])) == (
        'standard', 'relative')
    assert available_modes([]) == ('standard', 'relative')
