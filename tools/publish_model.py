"""Turn a training checkpoint into a release file: ``python tools/publish_model.py IN OUT``.

Keeps the model weights (``state_dict``) and a little metadata (the training
config, epoch, iteration, seed, versions) and drops what only resuming needs
(optimiser states, schedulers, the message hub). The file is written
atomically, loads with ``torch.load(..., weights_only=True)``, and its size and
SHA-256 are printed for the model-zoo index (``configs/*/metafile.yml``).
"""
import argparse
import hashlib
import io
import os.path as osp
import sys

import torch

from cpabmm.engine import load_checkpoint_file
from cpabmm.fileio import atomic_write
from cpabmm.utils.tool import tool_main

#: metadata entries a release keeps (the rest describes the training process)
KEPT_META = ('cfg', 'epoch', 'iter', 'seed', 'experiment_name', 'mmengine_version',
             'dataset_meta')


def release_checkpoint(checkpoint: dict) -> dict:
    """The weights and the kept metadata of a training checkpoint."""
    if 'state_dict' not in checkpoint:
        raise ValueError('the checkpoint has no state_dict: pass a checkpoint written by '
                         'tools/train.py')
    meta = checkpoint.get('meta', {})
    return {
        'meta': {key: meta[key] for key in KEPT_META if key in meta},
        'state_dict': {key: value.detach().clone().contiguous()
                       for key, value in checkpoint['state_dict'].items()},
    }


@tool_main('no output was written')
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('input', help='checkpoint written by tools/train.py')
    parser.add_argument('output', help='release file to write (.pth)')
    args = parser.parse_args(argv)
    try:
        release = release_checkpoint(load_checkpoint_file(args.input, map_location='cpu'))
    except (OSError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    buffer = io.BytesIO()
    torch.save(release, buffer)
    data = buffer.getvalue()
    with atomic_write(args.output, 'wb') as stream:
        stream.write(data)
    print(f'{osp.abspath(args.output)}\n  size    {len(data) / 2**20:.2f} MiB '
          f'({len(data)} bytes)\n  sha256  {hashlib.sha256(data).hexdigest()}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
