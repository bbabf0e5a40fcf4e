"""cpabmm.fileio: writes appear complete or not at all, flushed to disk."""
import os
import os.path as osp
import re

import pytest

from cpabmm import fileio


def test_a_published_file_and_its_folder_are_flushed_before_and_after_the_rename(
        tmp_path, monkeypatch):
    events = []
    monkeypatch.setattr(fileio, 'sync_path', lambda path: events.append(('sync', path)))
    monkeypatch.setattr(fileio, 'before_publish', lambda tmp, path: events.append(('rename',)))
    with fileio.atomic_write(str(tmp_path / 'metrics.json')) as file:
        file.write('{}')
        temporary = file.name
    assert events == [('sync', temporary), ('rename',), ('sync', str(tmp_path))]
    assert (tmp_path / 'metrics.json').read_text() == '{}'


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / 'last_checkpoint'
    target.write_text('old')
    with pytest.raises(KeyboardInterrupt):
        with fileio.atomic_path(str(target)) as temporary:
            with open(temporary, 'w') as file:
                file.write('new')
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == ['last_checkpoint'] and target.read_text() == 'old'


def test_stale_temporaries_are_those_of_matching_names(tmp_path):
    mine = [fileio.temporary_path(str(tmp_path / name)) for name in ('epoch_3.pth', 'epoch_12.pth')]
    others = [fileio.temporary_path(str(tmp_path / 'notes')), str(tmp_path / 'epoch_4.pth')]
    open(others[1], 'w').close()
    assert fileio.stale_temporaries(str(tmp_path), 'epoch_*.pth') == sorted(mine)
    assert all(osp.exists(path) for path in mine + others)


# --- destinations checked before any work -----------------------------------------

def listing(folder) -> list:
    return sorted(os.listdir(folder))  # hidden probes and temporaries included


@pytest.mark.parametrize('make, kind, message', [
    (lambda d: (d / 'out.mp4').mkdir() or d / 'out.mp4', 'file',
     r'--output .*out.mp4: is a folder, not a file; give a file path'),
    (lambda d: (d / 'afile').write_text('') or d / 'afile' / 'out.mp4', 'file',
     r'--output .*afile/out.mp4: .*afile is a file, not a folder; choose another path'),
    (lambda d: (d / 'afile').write_text('') or d / 'afile' / 'a' / 'b' / 'out.mp4', 'file',
     r'afile/a/b/out.mp4: .*afile is a file, not a folder'),
    (lambda d: (d / 'strips').write_text('') or d / 'strips', 'folder',
     r'--output .*strips: is a file, not a folder; give a folder path'),
])
def test_unusable_destinations_fail_in_one_line_leaving_nothing(tmp_path, make, kind,
                                                                 message):
    path = make(tmp_path)
    before = listing(tmp_path)
    with pytest.raises(fileio.DestinationError, match=message) as error:
        fileio.check_writable_destination(str(path), kind, '--output')
    assert len(str(error.value).splitlines()) == 1
    assert listing(tmp_path) == before


def test_devices_are_not_destinations():
    with pytest.raises(fileio.DestinationError, match='/dev/null: is not a regular file'):
        fileio.check_writable_destination('/dev/null')


@pytest.mark.skipif(not osp.isdir('/proc/self'), reason='needs Linux /proc')
def test_proc_is_probed_not_trusted():
    """os.access says /proc is writable (for root, everything is); only
    creating a file there tells the truth."""
    with pytest.raises(fileio.DestinationError,
                       match=r'^/proc/out.mp4: cannot write in /proc \(.*\); choose a '
                       'writable folder$'):
        fileio.check_writable_destination('/proc/out.mp4')


def test_an_unwritable_folder_is_found_by_the_probe(tmp_path, monkeypatch):
    """A folder where files cannot be created (a read-only mount, which
    permission bits do not show to root) is refused; the probe is what
    finds it."""
    def read_only(*args, **kwargs):
        raise OSError(30, 'Read-only file system')
    monkeypatch.setattr(fileio.tempfile, 'mkstemp', read_only)
    with pytest.raises(fileio.DestinationError,
                       match=rf'out.mp4: cannot write in {tmp_path} \(Read-only file '
                       r'system\); choose a writable folder'):
        fileio.check_writable_destination(str(tmp_path / 'new' / 'out.mp4'))


def test_missing_folders_are_fine_and_not_created(tmp_path):
    """The writers create missing folders; the check only probes the nearest
    existing one, and leaves nothing there."""
    path = tmp_path / 'a' / 'b' / 'out.mp4'
    assert fileio.check_writable_destination(str(path)) == str(path)
    assert fileio.check_writable_destination(str(tmp_path / 'strips'), 'folder')
    (tmp_path / 'old.mp4').write_text('old')
    assert fileio.check_writable_destination(str(tmp_path / 'old.mp4'))  # replaced later
    assert listing(tmp_path) == ['old.mp4']


def test_write_errors_name_the_destination():
    error = fileio.WriteError('/data/out.mp4', OSError(28, 'No space left on device',
                                                       '/data/.out.mp4.x1.mp4'))
    assert str(error) == 'could not write /data/out.mp4: No space left on device'
    assert isinstance(error, OSError) and error.errno == 28


TPSMM = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', 'tpsmm',
                 'tpsmm_k10-small_1xb8-20e_synthetic-64.py')


@pytest.mark.parametrize('args, message', [
    (lambda d: ['--out', str(d / 'results')], r'--out .*results: is a folder, not a file'),
    (lambda d: ['--save-strips', str(d / 'afile' / 'strips')],
     r'--save-strips .*afile/strips: .*afile is a file, not a folder'),
    (lambda d: ['--side-by-side', '2', '--work-dir', str(d / 'afile')],
     r'--work-dir .*afile: is a file, not a folder; give a folder path'),
    (lambda d: ['--work-dir', str(d / 'afile' / 'work')],
     r'--work-dir .*afile/work: .*afile is a file, not a folder'),
    (lambda d: ['--side-by-side', '2', '--cfg-options',
                f'test_cfg.side_by_side_dir={d / "afile"}'],
     r'--side-by-side folder .*afile: is a file, not a folder'),
    (lambda d: ['--out', '/proc/metrics.json'], r'/proc/metrics.json: cannot write in /proc'),
])
def test_tools_test_checks_its_destinations_before_building_the_runner(
        tmp_path, capsys, monkeypatch, args, message):
    """tools/test.py uses the same check for --out, --save-strips and the
    side-by-side folder: one line, exit 2, before the runner (and the model)
    is built, nothing written."""
    from tests.tools.loading import load_tool
    tool = load_tool('test')
    monkeypatch.setattr(tool, 'build_runner', lambda cfg: pytest.fail('runner was built'))
    (tmp_path / 'results').mkdir()
    (tmp_path / 'afile').write_text('')
    (tmp_path / 'model.pth').write_bytes(b'')
    before = listing(tmp_path)
    argv = [TPSMM, str(tmp_path / 'model.pth'), '--work-dir', str(tmp_path / 'work'),
            *args(tmp_path)]
    assert tool.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith('error: '), err
    assert re.search(message, err), err
    assert listing(tmp_path) == before and listing(tmp_path / 'results') == []
