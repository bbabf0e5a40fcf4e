"""Checkpoint files that are no complete PyTorch file, with the one line
:func:`cpabmm.checkpoint.read_file` reports for each."""
import os.path as osp
import random

from tests.tools.loading import REPO

#: a real checkpoint: the bundled model-zoo file
REAL = osp.join(REPO, 'model_zoo', 'cpabmm_k10-lite_synthetic-64.pth')
KINDS = ('truncated', 'empty', 'random')
MESSAGES = {
    'truncated': 'not a complete checkpoint (truncated or damaged file); download it again',
    'empty': 'not a complete checkpoint (empty file); download it again',
    'random': 'not a PyTorch checkpoint (unreadable bytes)',
}


def write_broken(path, kind: str, real: str = REAL) -> str:
    """Write a broken checkpoint of ``kind`` to ``path``: the first half of
    ``real``, nothing, or random bytes; returns the expected error line."""
    with open(real, 'rb') as f:
        data = f.read()
    content = {
        'truncated': data[:len(data) // 2],
        'empty': b'',
        'random': random.Random(0).randbytes(4096),
    }[kind]
    with open(path, 'wb') as f:
        f.write(content)
    return f'{path}: {MESSAGES[kind]}'
