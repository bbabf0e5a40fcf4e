"""cpabmm.webui.storage: the app's temporary folder, job folders, expiry and
the final clean-up."""
import os
import os.path as osp
import time

import pytest

from cpabmm.webui import ResultStore


def test_job_folders_expire_unless_running(tmp_path):
    with ResultStore(keep_seconds=100, parent=str(tmp_path)) as store:
        assert osp.dirname(store.root) == str(tmp_path)
        assert osp.basename(store.root).startswith('cpabmm-webui-')
        with store.job() as first:
            (open(osp.join(first, 'comparison.mp4'), 'wb')).close()
            assert store.sweep(now=time.time() + 1000) == []  # running: kept
        with store.job() as second:
            pass
        assert first != second and osp.dirname(first) == store.jobs
        assert len(osp.basename(first).rsplit('-', 1)[1]) == 16  # not guessable
        assert store.sweep(now=time.time() + 50) == []
        past = time.time() - 200
        os.utime(first, (past, past))
        assert store.sweep() == [first]
        assert os.listdir(store.jobs) == [osp.basename(second)]
        assert sorted(store.sweep(now=time.time() + 101)) == [second]
    assert not osp.exists(store.root)


def test_failed_job_leaves_nothing_and_close_empties_everything(tmp_path):
    store = ResultStore(parent=str(tmp_path))
    with pytest.raises(RuntimeError, match='boom'):
        with store.job() as folder:
            open(osp.join(folder, 'half.mp4'), 'wb').close()
            raise RuntimeError('boom')
    assert os.listdir(store.jobs) == []
    upload = osp.join(store.root, 'abc123', 'upload.png')  # Gradio's uploads land here
    os.makedirs(osp.dirname(upload))
    open(upload, 'wb').close()
    store.close()
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match='the app is stopping'):
        with store.job():
            pass


def test_background_sweeping(tmp_path):
    with ResultStore(keep_seconds=0.2, parent=str(tmp_path)) as store:
        store.start_sweeping(interval=0.05)
        with store.job() as folder:
            time.sleep(0.4)  # a job longer than the keeping time is not touched
            assert osp.isdir(folder)
        deadline = time.time() + 10
        while osp.exists(folder) and time.time() < deadline:
            time.sleep(0.05)
        assert not osp.exists(folder)
    assert os.listdir(tmp_path) == []


def test_bad_settings(tmp_path):
    with pytest.raises(ValueError, match='positive time'):
        ResultStore(keep_seconds=0)
    with pytest.raises(ValueError, match='--temp-dir .*: no such folder'):
        ResultStore(parent=str(tmp_path / 'nowhere'))
