"""``tools/benchmark.py train`` runs and prints a time per model."""
import importlib.util
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_train_benchmark_cli_runs(capsys):
    spec = importlib.util.spec_from_file_location(
        'cpabmm_benchmark', osp.join(ROOT, 'tools', 'benchmark.py'))
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    benchmark.main(['--threads', '1', 'train', '--models', 'FOMM', '--sizes', '64x1',
                    '--repeat', '1'])
    out = capsys.readouterr().out
    assert 'batch 1 at 64x64:' in out and 'FOMM' in out and 's CPU' in out
