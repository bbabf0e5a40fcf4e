"""``--compile`` of tools/demo.py, tools/test.py and tools/train.py.

Short real runs of each tool with ``--compile``: the flag reaches the
networks, which Dynamo traces (torch.compile with the ``'eager'`` backend
here: Inductor's code generation would take minutes on a CPU, and
tests/models/test_compile.py checks its outputs against the eager model's).
Where torch.compile cannot run, each tool stops with one line, ``error:
--compile needs ...``, and exit status 2, before the model is built.
"""
import json
import os.path as osp
import re

import numpy as np
import pytest
import torch
from PIL import Image

from cpabmm.apis import init_model
from cpabmm.models import compile as compile_module
from cpabmm.models.compile import CompileUnavailableError
from tests.datasets.media import astronaut, carphone, write_folder
from tests.tools.loading import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TPSMM = osp.join(ROOT, 'configs', 'tpsmm', 'tpsmm_k10-lite_1xb8-20e_synthetic-64.py')
CPABMM = osp.join(ROOT, 'configs', 'cpabmm', 'cpabmm_k10-lite_1xb8-20e_synthetic-64.py')
#: the forwards --compile compiles in the lite configs (no background predictor)
NETWORKS = {'HeatmapKeypointDetector.forward', 'DenseMotionNetwork.forward',
            'InpaintingGenerator.forward'}
NEEDS = 'a C++ compiler on the PATH (test)'


@pytest.fixture
def traced(monkeypatch):
    """torch.compile with the 'eager' backend; the names of what it compiled."""
    real = torch.compile
    names = []

    def compile_eagerly(function, *args, **kwargs):
        names.append(getattr(function, '__qualname__', repr(function)))
        return real(function, backend='eager')

    monkeypatch.setattr(torch, 'compile', compile_eagerly)
    compile_module._check.cache_clear()
    torch._dynamo.reset()
    yield names
    torch._dynamo.reset()
    compile_module._check.cache_clear()


@pytest.fixture
def unavailable(monkeypatch):
    """torch.compile cannot run (as without a C++ compiler); nothing may be built."""
    def fail(device_type, index):
        raise CompileUnavailableError(NEEDS)

    def no_model(*args, **kwargs):
        raise AssertionError('the model was built before the compile check')

    monkeypatch.setattr(compile_module, '_check', fail)
    monkeypatch.setattr('cpabmm.registry.MODELS.build', no_model)


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert 'Traceback' not in err
    lines = [line for line in err.splitlines() if line.startswith('error: ')]
    assert len(lines) == 1, err[-2000:]
    return lines[0]


@pytest.fixture(scope='module')
def frames(tmp_path_factory):
    root = tmp_path_factory.mktemp('media')
    Image.fromarray(astronaut()).save(root / 'portrait.png')
    return str(root / 'portrait.png'), write_folder(str(root / 'driving'), carphone(2))


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = init_model(TPSMM)
    path = tmp_path_factory.mktemp('ckpt') / 'tpsmm_lite.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


def demo_argv(frames, output, *extra):
    source, driving = frames
    return ['--source', source, '--driving', driving, '--output', output, '--config', CPABMM,
            '--random-weights', '--device', 'cpu', *extra]


def test_demo_compile_animates_with_the_compiled_networks(traced, frames, tmp_path):
    output = str(tmp_path / 'result.gif')
    assert load_tool('demo').main(demo_argv(frames, output, '--compile')) == 0
    assert NETWORKS <= set(traced)
    assert Image.open(output).n_frames == 2


def test_test_compile_evaluates_with_the_compiled_networks(traced, checkpoint, tmp_path,
                                                           monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))  # no LPIPS weights
    out = tmp_path / 'metrics.json'
    code = load_tool('test').main([
        TPSMM, checkpoint, '--compile', '--out', str(out), '--work-dir', str(tmp_path / 'work'),
        '--cfg-options', 'test_dataloader.num_workers=0', 'test_dataloader.dataset.num_videos=1',
        'test_dataloader.dataset.num_frames=3', 'test_dataloader.batch_size=2'])
    assert code == 0
    assert NETWORKS <= set(traced)
    assert np.isfinite(json.loads(out.read_text())['metrics']['L1'])


def test_train_compile_trains_the_compiled_networks(traced, tmp_path):
    code = load_tool('train').main([
        TPSMM, '--compile', '--work-dir', str(tmp_path), '--cfg-options',
        'train_dataloader.batch_size=2', 'train_dataloader.dataset.num_videos=2',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'train_cfg.max_epochs=1'])
    assert code == 0
    assert NETWORKS <= set(traced)
    checkpoint = torch.load(tmp_path / 'epoch_1.pth', weights_only=False)
    # the checkpoint names the parameters as the eager model does
    assert set(checkpoint['state_dict']) == set(init_model(TPSMM).state_dict())


@pytest.mark.parametrize('tool', ['demo', 'test', 'train'])
def test_unusable_compile_is_one_line_before_the_model_is_built(tool, frames, checkpoint,
                                                                unavailable, tmp_path, capsys):
    argv = {
        'demo': demo_argv(frames, str(tmp_path / 'result.gif'), '--compile'),
        'test': [TPSMM, checkpoint, '--compile', '--work-dir', str(tmp_path / 'work')],
        'train': [TPSMM, '--compile', '--work-dir', str(tmp_path / 'work')],
    }[tool]
    assert load_tool(tool).main(argv) == 2
    assert one_error_line(capsys) == f'error: --compile needs {NEEDS}'
    assert not (tmp_path / 'result.gif').exists()


def test_compile_flag_is_documented_in_each_help(capsys):
    for tool in ('demo', 'test', 'train'):
        with pytest.raises(SystemExit):
            load_tool(tool).main(['--help'])
        assert '--compile' in capsys.readouterr().out


def test_benchmark_model_compile_prints_the_compiled_row(traced, capsys):
    load_tool('benchmark').main(['--threads', '1', 'model', '--models', 'FOMM', '--size', '128',
                                 '--repeat', '1', '--compile'])
    out = capsys.readouterr().out
    assert 'FOMM' in out and 'per frame compiled (torch.compile' in out
    assert re.search(r'eager / compiled: \d+\.\d\dx wall, \d+\.\d\dx CPU; compiling \(first '
                     r'call\): \d+\.\d s wall', out), out
    assert {'OcclusionAwareGenerator.forward', 'HeatmapKeypointDetector.forward'} <= set(traced)
