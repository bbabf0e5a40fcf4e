"""Verified downloads from a local HTTP server, file:// URLs and local
paths: good, corrupted and truncated files, cache re-use offline, and
nothing unverified left behind after a failure."""
import os.path as osp
import urllib.request

import pytest

from cpabmm.zoo import (ChecksumError, DownloadError, cache_dir, fetch_source, fetch_url,
                        file_sha256)
from tests.tools.loading import load_tool

from .conftest import folder_listing, sha256_of

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB: several blocks of the transfer
GOOD = sha256_of(PAYLOAD)


@pytest.fixture(scope='module')
def tool():
    return load_tool('download')


def corrupted(data: bytes) -> bytes:
    return data[:1000] + bytes([data[1000] ^ 0xFF]) + data[1001:]


def test_good_file_is_published_under_its_name(server, isolated_cache):
    url = server.serve('/models/good.pth', PAYLOAD)
    path = fetch_url(url, GOOD, progress=False)
    assert path == osp.join(str(isolated_cache), 'good.pth')
    with open(path, 'rb') as f:
        assert f.read() == PAYLOAD
    assert folder_listing(isolated_cache) == ['good.pth']


def test_cache_location_follows_env_and_dest(monkeypatch, tmp_path):
    monkeypatch.setenv('CPABMM_HOME', str(tmp_path / 'home'))
    assert cache_dir() == str(tmp_path / 'home' / 'checkpoints')
    assert cache_dir(str(tmp_path / 'mine')) == str(tmp_path / 'mine')
    monkeypatch.delenv('CPABMM_HOME')
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert cache_dir() == str(tmp_path / 'xdg' / 'cpabmm' / 'checkpoints')
    monkeypatch.delenv('XDG_CACHE_HOME')
    monkeypatch.setenv('HOME', str(tmp_path / 'user'))
    assert cache_dir() == str(tmp_path / 'user' / '.cache' / 'cpabmm' / 'checkpoints')


def test_corrupted_file_is_refused_and_deleted(server, isolated_cache):
    url = server.serve('/bad.pth', corrupted(PAYLOAD))
    with pytest.raises(ChecksumError, match='SHA-256 mismatch'):
        fetch_url(url, GOOD, progress=False)
    assert folder_listing(isolated_cache) == []


def test_truncated_transfer_is_refused_and_deleted(server, isolated_cache):
    """The server promises the whole file, sends half and closes."""
    url = server.serve('/cut.pth', PAYLOAD[:len(PAYLOAD) // 2], promised=len(PAYLOAD))
    with pytest.raises(DownloadError, match=f'after {len(PAYLOAD) // 2} of {len(PAYLOAD)} bytes'):
        fetch_url(url, GOOD, progress=False)
    assert folder_listing(isolated_cache) == []


def test_http_error_leaves_nothing(server, isolated_cache):
    with pytest.raises(DownloadError, match='HTTP 404'):
        fetch_url(server.url('/missing.pth'), GOOD, progress=False)
    assert folder_listing(isolated_cache) == []


def test_failed_download_keeps_an_existing_good_file(server, tmp_path):
    """A corrupt transfer never replaces a verified file of another name."""
    dest = str(tmp_path / 'cache')
    fetch_url(server.serve('/good.pth', PAYLOAD), GOOD, dest, progress=False)
    with pytest.raises(ChecksumError):
        fetch_url(server.serve('/other.pth', corrupted(PAYLOAD)), GOOD, dest, progress=False)
    assert folder_listing(dest) == ['good.pth']
    assert file_sha256(osp.join(dest, 'good.pth')) == GOOD


def test_cached_file_is_reused_offline(server, isolated_cache, monkeypatch):
    url = server.serve('/good.pth', PAYLOAD)
    first = fetch_url(url, GOOD, progress=False)
    server.stop()

    def no_network(*args, **kwargs):
        raise AssertionError('the network was touched')

    monkeypatch.setattr(urllib.request, 'urlopen', no_network)
    assert fetch_url(url, GOOD, progress=False) == first
    assert folder_listing(isolated_cache) == ['good.pth']


def test_tampered_cache_is_reported_and_left_untouched(server, isolated_cache):
    """A file with the cached name and other bytes is never deleted or
    overwritten (the tool did not create it in this run)."""
    url = server.serve('/good.pth', PAYLOAD)
    path = fetch_url(url, GOOD, progress=False)
    with open(path, 'r+b') as f:
        f.write(b'tampered')
    tampered = open(path, 'rb').read()
    with pytest.raises(ChecksumError, match='left untouched'):
        fetch_url(url, GOOD, progress=False)
    assert open(path, 'rb').read() == tampered
    assert folder_listing(isolated_cache) == ['good.pth']


def test_wrong_digest_keeps_a_verified_download(server, isolated_cache):
    url = server.serve('/good.pth', PAYLOAD)
    path = fetch_url(url, GOOD, progress=False)
    with pytest.raises(ChecksumError, match=f'has the SHA-256 {GOOD}'):
        fetch_url(url, '0' * 64, progress=False)
    assert file_sha256(path) == GOOD and folder_listing(isolated_cache) == ['good.pth']


def test_local_file_in_dest_with_a_mistyped_digest_is_kept(tool, tmp_path, capsys):
    """The reproduction: ``download.py /tmp/m/vox.pth.tar --sha256 000... --dest
    /tmp/m`` deleted the user's file."""
    source = tmp_path / 'vox.pth.tar'
    source.write_bytes(PAYLOAD)
    assert tool.main([str(source), '--sha256', '0' * 64, '--dest', str(tmp_path)]) == 1
    assert source.read_bytes() == PAYLOAD
    assert folder_listing(tmp_path) == ['vox.pth.tar']
    assert 'left untouched' in capsys.readouterr().err


@pytest.mark.parametrize('tail', ['%2e%2e', '%2E%2E/', '..%2f..%2fescape.pth', '%2fetc%2fx',
                                  '.hidden'])
def test_url_names_never_leave_dest(server, tmp_path, tail):
    """Temporary and final files stay inside ``--dest`` whatever the URL's
    last segment decodes to."""
    dest = tmp_path / 'a' / 'b' / 'cache'
    url = server.serve(f'/{tail}', PAYLOAD)
    path = fetch_url(url, GOOD, str(dest), progress=False)
    assert osp.dirname(path) == str(dest) and not osp.basename(path).startswith('.')
    assert folder_listing(tmp_path) == ['a'] and folder_listing(tmp_path / 'a') == ['b']
    assert folder_listing(tmp_path / 'a' / 'b') == ['cache']


def test_a_file_appearing_during_the_download_is_not_overwritten(server, tmp_path,
                                                                 monkeypatch):
    from cpabmm.zoo import transfer
    dest = tmp_path / 'cache'
    stream = transfer._stream

    def racing_stream(url, temporary, label, progress):
        digest = stream(url, temporary, label, progress)
        (dest / 'good.pth').write_bytes(b'the user\'s own file')
        return digest

    monkeypatch.setattr(transfer, '_stream', racing_stream)
    with pytest.raises(DownloadError, match='appeared during the download'):
        fetch_url(server.serve('/good.pth', PAYLOAD), GOOD, str(dest), progress=False)
    assert folder_listing(dest) == ['good.pth']
    assert (dest / 'good.pth').read_bytes() == b"the user's own file"


def test_file_url_and_local_path(tmp_path, isolated_cache):
    source = tmp_path / 'downloads' / 'my model.pth'
    source.parent.mkdir()
    source.write_bytes(PAYLOAD)
    from_url = fetch_source(source.as_uri(), GOOD, progress=False)
    assert osp.basename(from_url) == 'my model.pth'
    assert osp.dirname(from_url) == str(isolated_cache)
    assert fetch_source(str(source), GOOD, progress=False) == from_url
    bad = tmp_path / 'downloads' / 'bad.pth'
    bad.write_bytes(corrupted(PAYLOAD))
    with pytest.raises(ChecksumError):
        fetch_source(str(bad), GOOD, progress=False)
    assert folder_listing(isolated_cache) == ['my model.pth']


def test_unsupported_scheme_and_bad_digest(tmp_path):
    with pytest.raises(ValueError, match="unsupported URL scheme 'ftp'"):
        fetch_url('ftp://host/x.pth', GOOD, str(tmp_path))
    with pytest.raises(ValueError, match='64 hex digits'):
        fetch_url('http://127.0.0.1/x.pth', 'abc', str(tmp_path))


# --- tools/download.py ------------------------------------------------------------

def test_cli_prints_the_verified_path(tool, server, tmp_path, capsys):
    """stdout holds the path alone, downloaded or reused from the cache."""
    url = server.serve('/ckpt.pth', PAYLOAD)
    dest = str(tmp_path / 'dest')
    for _ in range(2):
        assert tool.main([url, '--sha256', GOOD.upper(), '--dest', dest, '--quiet']) == 0
        captured = capsys.readouterr()
        assert captured.out == osp.join(dest, 'ckpt.pth') + '\n'
    assert 'using the verified cached file' in captured.err


@pytest.mark.parametrize('case', ['corrupted', 'truncated'])
def test_cli_failure_exits_non_zero_and_keeps_nothing(tool, server, tmp_path, capsys, case):
    if case == 'corrupted':
        url = server.serve('/x.pth', corrupted(PAYLOAD))
    else:
        url = server.serve('/x.pth', PAYLOAD[:5000], promised=len(PAYLOAD))
    dest = str(tmp_path / 'dest')
    assert tool.main([url, '--sha256', GOOD, '--dest', dest, '--quiet']) == 1
    captured = capsys.readouterr()
    assert captured.out == ''
    assert len(captured.err.strip().splitlines()) == 1
    assert folder_listing(dest) == []


def test_cli_refuses_a_url_without_sha256(tool, server, tmp_path, capsys):
    url = server.serve('/x.pth', PAYLOAD)
    dest = str(tmp_path / 'dest')
    assert tool.main([url, '--dest', dest]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and '--sha256' in err and len(err.splitlines()) == 1
    assert folder_listing(dest) == []


def test_cli_refuses_a_malformed_sha256(tool, tmp_path, capsys):
    source = tmp_path / 'a.pth'
    source.write_bytes(PAYLOAD)
    assert tool.main([str(source), '--sha256', 'not-a-digest', '--dest', str(tmp_path / 'd')]) == 2
    assert '64 hex digits' in capsys.readouterr().err


def test_cli_missing_local_file(tool, tmp_path, capsys):
    assert tool.main([str(tmp_path / 'nowhere' / 'x.pth'), '--sha256', GOOD]) == 2
    assert 'no such file' in capsys.readouterr().err


def test_unwritable_cache_is_one_line(tool, tmp_path, capsys):
    source = tmp_path / 'a.pth'
    source.write_bytes(PAYLOAD)
    blocker = tmp_path / 'file'
    blocker.write_bytes(b'')
    assert tool.main([str(source), '--sha256', GOOD, '--dest', str(blocker / 'cache')]) == 1
    err = capsys.readouterr().err
    assert 'cannot write there' in err and len(err.splitlines()) == 1
