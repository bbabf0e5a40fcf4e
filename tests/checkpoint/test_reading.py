"""Reading weight files: weights-only always, numpy types for official files,
full unpickling only on explicit trust."""
import pathlib

import numpy as np
import pytest
import torch
from torch import nn

from cpabmm.checkpoint import read_checkpoint, read_file, read_official_file, read_state_dict


class Payload:
    def __reduce__(self):
        return (print, ('executed',))


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='checkpoint not found: .*nope.pth'):
        read_file(tmp_path / 'nope.pth')


def test_pickled_objects_are_refused_in_one_line(tmp_path):
    path = tmp_path / 'unsafe.pth'
    torch.save({'state_dict': {}, 'payload': Payload()}, path)
    with pytest.raises(ValueError, match='not a weights-only checkpoint') as error:
        read_checkpoint(str(path))
    assert '\n' not in str(error.value) and 'convert_checkpoint.py' in str(error.value)


def test_a_corrupt_file_is_a_value_error(tmp_path):
    path = tmp_path / 'broken.pth'
    path.write_bytes(b'not a checkpoint')
    with pytest.raises(ValueError, match='not a weights-only checkpoint'):
        read_file(path)


def test_read_state_dict_wants_a_plain_state_dict(tmp_path):
    pickled_module = tmp_path / 'module.pth'
    torch.save(nn.Linear(2, 2), pickled_module)  # needs full unpickling
    with pytest.raises(ValueError, match='not a weights-only checkpoint') as error:
        read_state_dict(str(pickled_module))
    assert '\n' not in str(error.value)
    nested = tmp_path / 'nested.pth'
    torch.save({'model': {'w': torch.zeros(1)}}, nested)
    with pytest.raises(ValueError, match='plain state dict'):
        read_state_dict(str(nested))


def test_official_files_with_numpy_scalars_need_no_trust(tmp_path):
    path = tmp_path / 'vox.pth.tar'
    torch.save({'kp_detector': {'w': torch.ones(1)}, 'epoch': np.int64(9)}, path)
    with pytest.raises(ValueError):
        read_file(path)
    assert read_official_file(str(path))['epoch'] == 9


def test_other_objects_need_explicit_trust(tmp_path):
    path = tmp_path / 'odd.pth.tar'
    torch.save({'kp_detector': {}, 'epoch': pathlib.PurePosixPath('a/b')}, path)
    with pytest.raises(ValueError, match='pathlib.PurePosixPath.*--trust-pickle'):
        read_official_file(str(path))
    assert read_official_file(str(path), trust_pickle=True)['epoch'] == pathlib.PurePosixPath('a/b')
