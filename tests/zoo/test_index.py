"""Reading the zoo index, name/alias lookup, zoo entries through
tools/download.py, and the consistency of the repository's own index."""
import os.path as osp
import re

import pytest
import yaml

from cpabmm.zoo import ChecksumError, fetch_model, find_model, load_model_index, resolve_model
from tests.tools.loading import load_tool

from .conftest import REPO, folder_listing, sha256_of, write_index

PAYLOAD = b'weights' * 1000
CONFIG = 'configs/cpabmm/cpabmm_k10-lite_1xb8-20e_synthetic-64.py'


@pytest.fixture(scope='module')
def tool():
    return load_tool('download')


def model(name, **fields):
    return {'Name': name, 'Config': CONFIG, **fields}


def official(name, alias, weights=None):
    entry = model(name, Alias=alias, **{'Official Checkpoint': {
        'File': 'vox.pth.tar', 'Locations': ['https://example.org/folder'],
        'Convert': 'python tools/convert_checkpoint.py vox.pth.tar out.pth --model tpsmm'}})
    if weights:
        entry['Weights'] = weights
    return entry


@pytest.fixture
def zoo(tmp_path, server):
    """An index with a bundled entry, a downloadable one and an official one."""
    root = tmp_path / 'zoo'
    (root / 'model_zoo').mkdir(parents=True)
    (root / 'model_zoo' / 'small.pth').write_bytes(PAYLOAD)
    url = server.serve('/remote.pth', PAYLOAD)
    path = write_index(root, [
        model('net_small', Alias=['small', 'tiny'], Weights='model_zoo/small.pth',
              **{'SHA-256': sha256_of(PAYLOAD)}),
        model('net_remote', Alias='remote', Weights=url, **{'SHA-256': sha256_of(PAYLOAD)}),
        model('net_pending', Weights='model_zoo/pending.pth', **{'SHA-256': None}),
        official('tpsmm_official', 'tpsmm-vox', weights=server.serve('/vox.pth.tar', PAYLOAD)),
        official('fomm_official', 'fomm-vox'),
    ])
    return load_model_index(path)


def test_entries_resolve_paths_against_the_index_folder(zoo):
    small = find_model(zoo, 'net_small')
    root = osp.dirname(zoo.path)
    assert small.weights == osp.join(root, 'model_zoo', 'small.pth')
    assert small.config == osp.join(root, *CONFIG.split('/'))
    assert small.aliases == ('small', 'tiny')
    assert find_model(zoo, 'remote').weights.startswith('http://127.0.0.1:')
    assert find_model(zoo, 'tpsmm-vox').official.file == 'vox.pth.tar'


def test_lookup_by_alias_ignores_case(zoo):
    assert find_model(zoo, 'TINY') is find_model(zoo, 'net_small')
    assert find_model(zoo, ' Remote ') is find_model(zoo, 'net_remote')


def test_unknown_name_lists_close_names_in_one_line(zoo):
    with pytest.raises(ValueError) as error:
        find_model(zoo, 'net_smal')
    message = str(error.value)
    assert '\n' not in message
    assert re.search(r"unknown model 'net_smal' \(close names: net_small", message)
    with pytest.raises(ValueError, match='no close name'):
        find_model(zoo, 'zzzzzzzzzzzz')


def test_bundled_weights_are_verified_in_place(zoo, tmp_path):
    entry = find_model(zoo, 'small')
    assert fetch_model(entry, progress=False) == entry.weights
    with open(entry.weights, 'ab') as f:
        f.write(b'!')
    with pytest.raises(ChecksumError, match='SHA-256 mismatch'):
        fetch_model(entry, progress=False)


def test_remote_weights_go_to_the_cache(zoo, isolated_cache):
    path = fetch_model(find_model(zoo, 'remote'), progress=False)
    assert path == osp.join(str(isolated_cache), 'remote.pth')
    with pytest.raises(ValueError, match='disagrees with the index'):
        fetch_model(find_model(zoo, 'remote'), sha256='0' * 64, progress=False)


def test_entry_without_sha256_is_not_loaded(zoo):
    with pytest.raises(ValueError, match='gives no SHA-256'):
        fetch_model(find_model(zoo, 'net_pending'))


def test_official_pickle_needs_a_user_sha256(zoo, isolated_cache):
    entry = find_model(zoo, 'tpsmm-vox')
    with pytest.raises(ValueError, match='publish no SHA-256.*--sha256'):
        fetch_model(entry, progress=False)
    assert folder_listing(isolated_cache) == []
    path = fetch_model(entry, sha256=sha256_of(PAYLOAD), progress=False)
    assert osp.basename(path) == 'vox.pth.tar'
    with pytest.raises(ValueError, match='no direct link'):
        fetch_model(find_model(zoo, 'fomm-vox'), sha256=sha256_of(PAYLOAD))


def test_official_entry_is_no_demo_model(zoo):
    with pytest.raises(ValueError, match='converted first: python tools/convert_checkpoint'):
        resolve_model('tpsmm-vox', zoo)
    config, checkpoint = resolve_model('tiny', zoo)
    assert config.endswith(CONFIG.split('/')[-1]) and checkpoint.endswith('small.pth')


@pytest.mark.parametrize('models, message', [
    ([model('a', Alias='b'), model('b')], "the name 'b' of b is already used by a"),
    ([{'Name': 'a'}], 'needs a Name and a Config'),
    ([model('a', **{'SHA-256': 'xyz'})], 'a: SHA-256 must be 64 hex digits'),
    ([model('a', Alias={'x': 1})], 'expected a name or a list of names'),
    ([model('a', **{'Official Checkpoint': {'File': 'x'}})], 'needs File, Locations and Convert'),
])
def test_malformed_index_gives_one_line(tmp_path, models, message):
    with pytest.raises(ValueError) as error:
        load_model_index(write_index(tmp_path, models))
    assert message in str(error.value) and '\n' not in str(error.value)


def test_missing_index_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv('CPABMM_MODEL_INDEX', str(tmp_path / 'none.yml'))
    with pytest.raises(ValueError, match='model index not found: .*CPABMM_MODEL_INDEX'):
        load_model_index()


# --- tools/download.py NAME ---------------------------------------------------------

def test_cli_fetches_by_alias(tool, zoo, capsys, isolated_cache):
    assert tool.main(['remote', '--index', zoo.path, '--quiet']) == 0
    assert capsys.readouterr().out.strip() == osp.join(str(isolated_cache), 'remote.pth')


def test_cli_unknown_name(tool, zoo, capsys, isolated_cache):
    assert tool.main(['remot', '--index', zoo.path]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and 'close names: remote' in err
    assert folder_listing(isolated_cache) == []


def test_cli_official_with_and_without_sha256(tool, zoo, capsys, isolated_cache):
    assert tool.main(['tpsmm-vox', '--index', zoo.path]) == 2
    assert '--sha256' in capsys.readouterr().err
    assert folder_listing(isolated_cache) == []
    assert tool.main(['tpsmm-vox', '--index', zoo.path, '--sha256', sha256_of(PAYLOAD),
                      '--quiet']) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == osp.join(str(isolated_cache), 'vox.pth.tar')
    assert 'convert it before use: python tools/convert_checkpoint.py' in captured.err


def test_cli_list(tool, zoo, capsys):
    assert tool.main(['--list', '--index', zoo.path]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [e.name for e in zoo.entries]


# --- the repository's own index -----------------------------------------------------

@pytest.fixture(scope='module')
def repo_index():
    return load_model_index(osp.join(REPO, 'model-index.yml'))


def test_repository_index_is_complete(repo_index):
    """Every metafile of configs/ is imported; every config exists; every
    entry is in model_zoo/README.md."""
    with open(osp.join(REPO, 'model-index.yml')) as f:
        imported = set(yaml.safe_load(f)['Import'])
    families = sorted(d for d in folder_listing(osp.join(REPO, 'configs'))
                      if osp.isfile(osp.join(REPO, 'configs', d, 'metafile.yml')))
    assert imported == {f'configs/{d}/metafile.yml' for d in families}
    assert {'cpabmm', 'fomm', 'tpsmm'} <= set(families)
    with open(osp.join(REPO, 'model_zoo', 'README.md')) as f:
        table = f.read()
    for entry in repo_index.entries:
        assert osp.isfile(entry.config), entry.config
        assert f'`{entry.name}`' in table, entry.name
        for alias in entry.aliases:
            assert f'`{alias}`' in table, alias


def test_repository_official_entries(repo_index):
    """Official entries name public locations and a conversion command of
    their own file, for the family that made it."""
    officials = [e for e in repo_index.entries if e.official is not None]
    assert {e.collection for e in officials} == {'FOMM', 'TPSMM'}
    for entry in officials:
        assert entry.sha256 is None and entry.weights is None
        assert all(url.startswith('https://') for url in entry.official.locations)
        command = entry.official.convert.split()
        assert command[:3] == ['python', 'tools/convert_checkpoint.py', entry.official.file]
        assert command[-2:] == ['--model', entry.collection.lower()]


@pytest.mark.parametrize('alias,name,config', [
    ('fomm-lite', 'fomm_k10-lite_synthetic-64', 'configs/fomm/fomm_k10-lite_1xb8-20e_synthetic-64.py'),
    ('tpsmm-lite', 'tpsmm_k10-lite_synthetic-64',
     'configs/tpsmm/tpsmm_k10-lite_1xb8-20e_synthetic-64.py'),
    ('cpabmm-lite', 'cpabmm_k10-lite_synthetic-64',
     'configs/cpabmm/cpabmm_k10-lite_1xb8-20e_synthetic-64.py'),
    ('cpabmm-lite-40e', 'cpabmm_k10-lite-40e_synthetic-64',
     'configs/cpabmm/cpabmm_k10-lite_1xb8-40e_synthetic-64.py'),
])
def test_repository_bundled_entries(repo_index, alias, name, config):
    entry = find_model(repo_index, alias)
    assert entry.name == name
    assert entry.config == osp.join(REPO, *config.split('/'))
    assert entry.weights == osp.join(REPO, 'model_zoo', f'{name}.pth')
    assert osp.isfile(entry.weights)
