"""tools/dist_train.sh and tools/dist_test.sh: usage, the torchrun command they run
and the LOCAL_RANK of the tools they launch."""
import os
import os.path as osp
import stat
import subprocess

import pytest

from cpabmm.utils.environment import child_environment
from tests.tools.loading import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: script, its positional arguments, the GPUS argument's position
SCRIPTS = [('dist_train.sh', ['a.py', '2'], 1), ('dist_test.sh', ['a.py', 'a.pth', '2'], 2)]


def run_script(name: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(['bash', osp.join(ROOT, 'tools', name), *args], capture_output=True,
                          text=True, env=child_environment(**env), timeout=60)


@pytest.mark.parametrize('name', [name for name, _, _ in SCRIPTS])
@pytest.mark.parametrize('flag', ['--help', '-h'])
def test_help_prints_the_usage(name, flag):
    result = run_script(name, flag)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f'usage: tools/{name} CONFIG ') and result.stderr == ''


@pytest.mark.parametrize('name,positional,_', SCRIPTS)
def test_missing_arguments_print_the_usage_and_fail(name, positional, _):
    for count in range(len(positional)):
        result = run_script(name, *positional[:count])
        assert result.returncode == 2
        assert result.stderr.startswith(f'usage: tools/{name} CONFIG ')


@pytest.mark.parametrize('name,positional,gpus', SCRIPTS)
@pytest.mark.parametrize('inherited', [['/deps/a', '/deps/b'], []])
def test_torchrun_runs_the_tool_with_the_checkout_first_on_the_path(tmp_path, name, positional,
                                                                    gpus, inherited):
    python = tmp_path / 'python'  # prints what it is given instead of running it
    python.write_text('#!/bin/sh\necho "PYTHONPATH=$PYTHONPATH"\nprintf "%s\\n" "$@"\n')
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    result = run_script(name, *positional, '--work-dir', 'w', PYTHON=str(python),
                        PYTHONPATH=os.pathsep.join(inherited))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == 'PYTHONPATH=' + os.pathsep.join([ROOT, *inherited])  # no empty entry
    assert f'--nproc_per_node={positional[gpus]}' in lines
    tool = lines.index(osp.join(ROOT, 'tools', name.replace('dist_', '').replace('.sh', '.py')))
    assert lines[tool + 1:] == positional[:gpus] + ['--launcher', 'pytorch', '--work-dir', 'w']


@pytest.mark.parametrize('tool,argv', [('train', ['a.py']), ('test', ['a.py', 'a.pth'])])
def test_local_rank_goes_to_the_environment_of_distributed_runs_only(monkeypatch, tool, argv):
    monkeypatch.setenv('LOCAL_RANK', '')
    monkeypatch.delenv('LOCAL_RANK')  # and back to unset afterwards
    parse_args = load_tool(tool).parse_args
    parse_args([*argv, '--local-rank', '1'])
    assert 'LOCAL_RANK' not in os.environ  # an in-process run leaves it alone
    parse_args([*argv, '--launcher', 'pytorch', '--local-rank', '1'])
    assert os.environ['LOCAL_RANK'] == '1'
