"""Reading weight files: weights-only always, numpy types for official files,
full unpickling only on explicit trust."""
import pathlib
import pickle
import zipfile

import numpy as np
import pytest
import torch
from torch import nn

from cpabmm.checkpoint import (CheckpointError, read_checkpoint, read_file, read_official_file,
                               read_state_dict)
from .broken_files import KINDS, MESSAGES, write_broken


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
    with pytest.raises(ValueError, match='not a PyTorch checkpoint'):
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


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('reader', [read_file, read_official_file,
                                    lambda path: read_official_file(path, trust_pickle=True)],
                         ids=['read_file', 'official', 'official-trusted'])
def test_broken_files_are_one_checkpoint_error(tmp_path, kind, reader):
    """No advice to unpickle fully (no trust makes such a file readable)."""
    path = tmp_path / f'{kind}.pth'
    expected = write_broken(path, kind)
    with pytest.raises(CheckpointError) as error:
        reader(str(path))
    assert str(error.value) == expected
    assert isinstance(error.value, ValueError)


@pytest.mark.parametrize('legacy', [False, True], ids=['zip', 'pre-1.6'])
def test_every_truncation_of_a_real_file_is_incomplete(tmp_path, legacy):
    """Both formats of torch.save (the pre-1.6 one of the official files),
    cut after any number of bytes."""
    whole = tmp_path / 'whole.pth'
    torch.save({'state_dict': {'w': torch.randn(64, 64)}, 'epoch': 3}, whole,
               _use_new_zipfile_serialization=not legacy)
    data = whole.read_bytes()
    cut = tmp_path / 'cut.pth'
    for size in sorted({*range(1, 40), *range(40, len(data), 97), len(data) - 1}):
        cut.write_bytes(data[:size])
        with pytest.raises(CheckpointError, match=MESSAGES['truncated'].replace('(', r'\(')
                           .replace(')', r'\)')):
            read_file(cut)


def test_other_bytes_are_no_pytorch_checkpoint(tmp_path):
    for name, content in [('text.pth', b'hello world'),
                          ('pickle.pkl', pickle.dumps({'w': 1}, protocol=4)),
                          ('opcodes.pth', b'c' + bytes(range(256)))]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CheckpointError, match=r'not a PyTorch checkpoint \(unreadable'):
            read_file(tmp_path / name)
    archive = tmp_path / 'other.zip'
    with zipfile.ZipFile(archive, 'w') as zipped:
        zipped.writestr('notes.txt', 'not a checkpoint')
    with pytest.raises(CheckpointError, match=r'not a PyTorch checkpoint'):
        read_file(archive)


@pytest.mark.parametrize('legacy', [False, True], ids=['zip', 'pre-1.6'])
def test_only_whole_pickles_with_other_objects_get_the_trust_advice(tmp_path, legacy):
    path = tmp_path / 'odd.pth.tar'
    torch.save({'kp_detector': {}, 'epoch': pathlib.PurePosixPath('a/b')}, path,
               _use_new_zipfile_serialization=not legacy)
    with pytest.raises(ValueError, match='--trust-pickle') as error:
        read_official_file(str(path))
    assert not isinstance(error.value, CheckpointError)
