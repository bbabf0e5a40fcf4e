"""tools/publish_model.py: training checkpoint -> release file."""
import hashlib
import os.path as osp
from types import SimpleNamespace

import pytest
import torch

from cpabmm.checkpoint import to_safe_types
from tests.tools.loading import load_tool


@pytest.fixture(scope='module')
def tool():
    return load_tool('publish_model')


@pytest.fixture
def run_tool(tool, capsys):
    """``tool.main(args)`` with its exit status and printed output."""

    def run(*args):
        status = tool.main([str(arg) for arg in args])
        out = capsys.readouterr()
        return SimpleNamespace(returncode=status, stdout=out.out, stderr=out.err)

    return run


@pytest.fixture
def training_checkpoint(tmp_path):
    """A checkpoint shaped like the runner's: weights, optimiser, hub, meta."""
    model = torch.nn.Linear(3, 2)
    optimiser = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    optimiser.step()
    path = tmp_path / 'epoch_4.pth'
    torch.save(to_safe_types({
        'meta': {'epoch': 4, 'iter': 160, 'cfg': 'model = dict()', 'seed': 0,
                 'time': '20261127', 'experiment_name': 'x', 'mmengine_version': '0.10.7'},
        'state_dict': model.state_dict(),
        'optimizer': optimiser.state_dict(),
        'param_schedulers': [{'last_epoch': 4}],
        'message_hub': {'log_scalars': {}},
    }), path)
    return path, model.state_dict()


def test_release_keeps_weights_and_drops_training_state(tmp_path, training_checkpoint,
                                                        run_tool):
    source, weights = training_checkpoint
    target = tmp_path / 'release' / 'model.pth'
    result = run_tool(str(source), str(target))
    assert result.returncode == 0, result.stderr
    release = torch.load(target, weights_only=True)
    assert set(release) == {'meta', 'state_dict'}
    assert release['meta']['epoch'] == 4 and 'time' not in release['meta']
    assert release['state_dict'].keys() == weights.keys()
    for key, value in weights.items():
        assert torch.equal(release['state_dict'][key], value)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    assert f'sha256  {digest}' in result.stdout
    assert osp.getsize(target) < osp.getsize(source)


def test_missing_or_unsafe_input_is_one_line_error(tmp_path, run_tool):
    missing = run_tool(str(tmp_path / 'nope.pth'), str(tmp_path / 'out.pth'))
    assert missing.returncode == 1
    assert missing.stderr.startswith('error: checkpoint not found')
    no_weights = tmp_path / 'opt.pth'
    torch.save({'optimizer': {}}, no_weights)
    result = run_tool(str(no_weights), str(tmp_path / 'out.pth'))
    assert result.returncode == 1 and 'no state_dict' in result.stderr
    assert not (tmp_path / 'out.pth').exists()
