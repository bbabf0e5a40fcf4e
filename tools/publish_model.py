"""Turn a training checkpoint into a release file: ``python tools/publish_model.py IN OUT``.

Keeps the model weights (``state_dict``) and a little metadata (the training
config, epoch, iteration, seed, versions) and drops what only resuming needs
(optimiser states, schedulers, the message hub). The file is written
atomically, loads with ``torch.load(..., weights_only=True)``, and its size and
SHA-256 are printed for the model-zoo index (``configs/*/metafile.yml``).
"""
import argparse
import os.path as osp
import sys

from cpabmm.checkpoint import read_model_checkpoint, save_checkpoint
from cpabmm.utils.tool import tool_main
from cpabmm.zoo.checksum import file_sha256

#: metadata entries a release keeps (the rest describes the training process)
KEPT_META = ('cfg', 'epoch', 'iter', 'seed', 'experiment_name', 'mmengine_version',
             'dataset_meta')


def release_checkpoint(checkpoint: dict) -> dict:
    """The weights and the kept metadata of a training checkpoint."""
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
        release = release_checkpoint(read_model_checkpoint(args.input))
    except (OSError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    save_checkpoint(release, args.output)
    size = osp.getsize(args.output)
    print(f'{osp.abspath(args.output)}\n  size    {size / 2**20:.2f} MiB '
          f'({size} bytes)\n  sha256  {file_sha256(args.output)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
