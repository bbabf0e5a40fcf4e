"""``tools/benchmark.py train`` runs and prints a time per model."""
from tests.tools.loading import load_tool



def test_train_benchmark_cli_runs(capsys):
    load_tool('benchmark').main(['--threads', '1', 'train', '--models', 'FOMM', '--sizes', '64x1',
                    '--repeat', '1'])
    out = capsys.readouterr().out
    assert 'batch 1 at 64x64:' in out and 'FOMM' in out and 's CPU' in out
