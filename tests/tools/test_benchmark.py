"""tools/benchmark.py's subcommands on tiny settings: they run and print
their rows (the figures themselves are checked in tests/benchmarks)."""
import os.path as osp
import re

import pytest

from cpabmm.benchmarks import SYNTHETIC_CONFIGS
from .loading import load_tool

TINY_TPSMM = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data', 'configs',
                      'tpsmm_tiny_resume.py')


@pytest.fixture(scope='module')
def benchmark():
    return load_tool('benchmark')


@pytest.mark.slow
def test_model_prints_each_model_the_ratio_and_the_fit_share(benchmark, capsys):
    # 128: the smallest side the published architectures take
    benchmark.main(['--threads', '1', 'model', '--models', 'TPSMM', 'CPABMM', '--size', '128',
                    '--repeat', '1'])
    out = capsys.readouterr().out
    assert 'TPSMM' in out and 's CPU per frame' in out and 'motion fit' in out
    assert 'CPABMM / TPSMM:' in out and 'target: within 1.25x' in out
    assert 'CPABMM motion fit share of the forward' in out


@pytest.mark.parametrize('backend', ['auto', pytest.param('cuda', marks=pytest.mark.cuda)])
def test_motion_fits_where_the_backend_runs(benchmark, capsys, fixtures_dir, backend):
    """Keypoints and grid go to the backend's device (the CUDA op refuses CPU tensors)."""
    benchmark.main(['--threads', '1', 'motion', '--backend', backend, '--samples', '1',
                    '--repeat', '1', '--grid', '8', '--distribution', 'fixture-noisy',
                    '--fixture', osp.join(fixtures_dir, 'cpab_libcpab_seed0.pt')])
    out = capsys.readouterr().out
    device = 'cuda' if backend == 'cuda' else 'cpu'
    assert f"backend '{backend}' on {device}" in out
    assert 'adam  fit' in out and "on the fixture's 4 pairs, global" in out


def test_cpab_prints_each_backend_against_the_reference(benchmark, capsys):
    benchmark.main(['--threads', '1', 'cpab', '--tess', '2', '--samples', '1', '--transforms',
                    '2', '--grid', '8', '--repeat', '1'])
    out = capsys.readouterr().out
    assert 'cpu   torch' in out and 'cpu   cpp' in out and '1.0x vs torch' in out


def test_train_prints_a_time_per_model(benchmark, capsys):
    benchmark.main(['--threads', '1', 'train', '--models', 'FOMM', '--sizes', '64x1',
                    '--repeat', '1'])
    out = capsys.readouterr().out
    assert 'batch 1 at 64x64:' in out and 'FOMM' in out and 's CPU' in out


def test_sizes_must_be_size_x_batch(benchmark, capsys):
    with pytest.raises(SystemExit):
        benchmark.main(['train', '--sizes', '64by8'])
    assert 'is not SIZExBATCH' in capsys.readouterr().err


@pytest.mark.slow
def test_demo_prints_speed_and_memory(benchmark, capsys):
    benchmark.main(['--threads', '1', 'demo', '--models', 'TPSMM', '--frames', '1',
                    '--memory-frames', '2', '3'])
    out = capsys.readouterr().out
    assert 'TPSMM' in out and 'frames/s' in out
    assert '3-frame driving video: peak RSS' in out and 'peak memory 3 / 2 frames' in out


@pytest.mark.slow
def test_losses_prints_the_costs_and_the_training_step_table(benchmark, capsys):
    benchmark.main(['--threads', '1', 'losses', '--sam-arch', 'tiny', '--sam-size', '32',
                    '--dino-arch', 'tiny', '--dino-batch', '1', '--dino-size', '32',
                    '--sizes', '64x1'])
    out = capsys.readouterr().out
    for row in ('loss step, no cache', 'loss step, cold cache', 'warm memory cache',
                'warm disk store', 'DINO ViT (tiny) structure alignment loss',
                'without SAM and DINO', 'SAM, warm cache', 'SAM, cold cache', 'DINO',
                'SAM + DINO, cold cache'):
        assert row in out


def test_converge_prints_first_and_last_losses(benchmark, capsys, monkeypatch):
    """On the shrunk TPSMM config of the resume tests (2 iterations an
    epoch) instead of the synthetic one (15)."""
    monkeypatch.setitem(SYNTHETIC_CONFIGS, 'TPSMM', TINY_TPSMM)
    benchmark.main(['--threads', '1', 'converge', '--iters', '3', '--window', '1',
                    '--models', 'TPSMM'])
    out = capsys.readouterr().out
    row = re.search(r'TPSMM +\S+tpsmm_tiny_resume.py: 4 iterations, loss ([\d.]+) -> ([\d.]+) '
                    r'\(last / first ([\d.]+)\)', out)
    assert row is not None, out
    first, last, ratio = map(float, row.groups())
    assert ratio == pytest.approx(last / first, abs=1e-3)


@pytest.mark.slow
def test_onnx_prints_pytorch_against_onnxruntime(benchmark, capsys):
    benchmark.main(['--threads', '1', 'onnx', '--models', 'FOMM', '--size', '128',
                    '--repeat', '1'])
    out = capsys.readouterr().out
    row = re.search(r'FOMM +PyTorch +([\d.]+) s wall .* onnxruntime +([\d.]+) s wall .* '
                    r'PyTorch / onnxruntime ([\d.]+)x wall .*mean \|difference\| ([\d.e+-]+)\)',
                    out)
    assert row is not None, out
    torch_s, onnx_s, ratio, difference = map(float, row.groups())
    assert ratio == pytest.approx(torch_s / onnx_s, rel=0.05, abs=0.02)
    assert difference < 1e-3
