"""Convert an official FOMM or TPSMM checkpoint to a cpabmm checkpoint.

    python tools/convert_checkpoint.py vox.pth.tar vox_tpsmm.pth --model tpsmm

Official checkpoints (``.pth.tar``) are pickles: reading a pickle can run
code, so only convert files you trust (e.g. downloaded from the authors'
links and checked against their published SHA-256). The file is read by
:func:`cpabmm.checkpoint.read_official_file`: weights-only with numpy's
scalar and array types allowed, and a full unpickling only with
``--trust-pickle``. The output is an MMEngine checkpoint (``state_dict`` and
``meta``) that loads with ``torch.load(..., weights_only=True)``, e.g.
through ``cpabmm.apis.init_model(config, checkpoint)``. The discriminator
of FOMM's adversarial recipes (``-adv``, MGif), when the file has one, becomes
that of our adversarial loss (``losses.adversarial``): fine-tuning keeps it,
inference does without it.

Exit status: 0 when written, 1 for a file that is no official checkpoint of
``--model`` or that needs ``--trust-pickle``, 2 for a file that is no
complete PyTorch checkpoint (empty, truncated, other bytes).
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys
from typing import List, Optional

from cpabmm.checkpoint import (OFFICIAL_FORMATS, CheckpointError, official_format,
                               read_official_file, save_checkpoint)
from cpabmm.utils.tool import tool_main
from cpabmm.zoo.checksum import file_sha256


def convert(src: str, dst: str, model: str, trust_pickle: bool = False) -> dict:
    """Convert ``src`` (official) to ``dst`` (ours); returns the written dict."""
    official = official_format(model)
    checkpoint = read_official_file(src, trust_pickle)
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{src} is not an official checkpoint (a dict of state dicts)')
    state_dict = official.convert(checkpoint)
    converted = {
        'state_dict': {key: value.clone() for key, value in state_dict.items()},
        'meta': {
            'converted_from': osp.basename(src),
            'source_sha256': file_sha256(src),
            'official_model': model,
            'official_entries': [entry for entry in official.networks if entry in checkpoint],
        },
    }
    save_checkpoint(converted, dst)
    return converted


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert an official FOMM/TPSMM checkpoint (a pickle: convert only files '
        'you trust) to a weights-only cpabmm checkpoint.')
    parser.add_argument('src', help='official checkpoint, e.g. vox.pth.tar')
    parser.add_argument('dst', help='output path, e.g. work_dirs/tpsmm_vox-256.pth')
    parser.add_argument('--model', required=True, choices=sorted(OFFICIAL_FORMATS),
                        help='which official code wrote the checkpoint')
    parser.add_argument('--trust-pickle', action='store_true',
                        help='allow full unpickling when the safe loaders refuse the file '
                        '(can run code stored in it)')
    return parser.parse_args(argv)


@tool_main('no output was written', usage_errors=(CheckpointError,))
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if not osp.isfile(args.src):
        print(f'error: {args.src} not found', file=sys.stderr)
        return 1
    try:
        converted = convert(args.src, args.dst, args.model, args.trust_pickle)
    except CheckpointError:
        raise  # an incomplete or unreadable file: exit status 2 (tool_main)
    except ValueError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    meta = converted['meta']
    print(f"wrote {args.dst}: {len(converted['state_dict'])} tensors from "
          f"{', '.join(meta['official_entries'])} (source sha256 {meta['source_sha256'][:16]}...)")
    return 0


if __name__ == '__main__':
    sys.exit(main())
