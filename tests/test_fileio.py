"""cpabmm.fileio: writes appear complete or not at all, flushed to disk."""
import os
import os.path as osp

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
