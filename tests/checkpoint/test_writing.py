"""save_checkpoint: atomic, and readable weights-only."""
import numpy as np
import pytest
import torch

from cpabmm.checkpoint import read_checkpoint, save_checkpoint


def test_written_checkpoints_load_weights_only(tmp_path):
    path = tmp_path / 'out' / 'model.pth'
    save_checkpoint({'state_dict': {'w': torch.ones(2)}, 'meta': {'seed': np.int64(1)}},
                    str(path))
    loaded = torch.load(path, weights_only=True)
    assert loaded['meta']['seed'] == 1
    torch.testing.assert_close(read_checkpoint(str(path))['state_dict']['w'], torch.ones(2))


def test_a_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / 'model.pth'
    save_checkpoint({'state_dict': {'w': torch.ones(1)}}, str(path))
    with pytest.raises(Exception):
        save_checkpoint({'state_dict': {'w': lambda: None}}, str(path))
    assert read_checkpoint(str(path))['state_dict']['w'].item() == 1
    assert [p.name for p in tmp_path.iterdir()] == ['model.pth']
