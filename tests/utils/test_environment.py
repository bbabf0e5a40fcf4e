"""child_environment: a child process gets this process's environment, extended."""
import os
import os.path as osp
import subprocess
import sys

from cpabmm.utils.environment import child_environment

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_the_path_goes_first_and_the_inherited_entries_stay(monkeypatch):
    monkeypatch.setenv('PYTHONPATH', os.pathsep.join(['/deps/a', '/deps/b']))
    monkeypatch.setenv('INHERITED', 'yes')
    monkeypatch.delenv('CHILD_ONLY', raising=False)
    env = child_environment(REPO, CHILD_ONLY='1')
    assert env['PYTHONPATH'].split(os.pathsep) == [REPO, '/deps/a', '/deps/b']
    assert env['INHERITED'] == 'yes' and env['CHILD_ONLY'] == '1'
    assert 'CHILD_ONLY' not in os.environ  # this process's environment is untouched


def test_no_empty_entry_without_an_inherited_path(monkeypatch):
    monkeypatch.delenv('PYTHONPATH', raising=False)
    assert child_environment(REPO)['PYTHONPATH'] == REPO  # '' would add the working folder
    assert 'PYTHONPATH' not in child_environment()


def test_a_child_imports_what_the_inherited_path_provides(tmp_path, monkeypatch):
    (tmp_path / 'provided_dependency.py').write_text('')
    monkeypatch.setenv('PYTHONPATH', str(tmp_path))
    result = subprocess.run([sys.executable, '-c', 'import cpabmm, provided_dependency'],
                            cwd=os.sep, env=child_environment(REPO), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
