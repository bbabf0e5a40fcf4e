"""Convert an official FOMM or TPSMM checkpoint to a cpabmm checkpoint.

    python tools/convert_checkpoint.py vox.pth.tar vox_tpsmm.pth --model tpsmm

Official checkpoints (``.pth.tar``) are pickles: reading a pickle can run
code, so only convert files you trust (e.g. downloaded from the authors'
links and checked against their published SHA-256). The file is read with
the least trust that works: PyTorch's weights-only loader first, then the
same loader allowing numpy scalars and arrays, and a full unpickling only
with ``--trust-pickle``. The output is an MMEngine checkpoint (``state_dict``
and ``meta``) that loads with ``torch.load(..., weights_only=True)``, e.g.
through ``cpabmm.apis.init_model(config, checkpoint)``.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import os.path as osp
import pickle
import sys
from typing import Any, List, Optional

import torch

from cpabmm.fileio import atomic_path
from cpabmm.models.converters import (NETWORK_ENTRIES, convert_official_state_dict,
                                      flatten_official_checkpoint)
from cpabmm.utils.tool import tool_main


def _numpy_globals() -> List[Any]:
    """The numpy reconstructors old checkpoints pickle scalars and arrays with."""
    import numpy as np
    core = getattr(np, '_core', None) or np.core
    return [core.multiarray.scalar, core.multiarray._reconstruct, np.ndarray, np.dtype,
            *{type(np.dtype(name)) for name in ('int64', 'int32', 'float64', 'float32', 'bool')}]


def _reason(error: Exception) -> str:
    """The line of an unpickling error that names the refused object."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    named = [line for line in lines if 'GLOBAL' in line or 'Unsupported' in line]
    return (named or lines or ['refused by the weights-only loader'])[0]


def load_official(path: str, trust_pickle: bool = False) -> dict:
    """Read an official checkpoint with the least trust that works.

    Raises:
        ValueError: the file needs full unpickling and ``trust_pickle`` is off.
    """
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError:
        pass
    try:
        with torch.serialization.safe_globals(_numpy_globals()):
            return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as error:
        if not trust_pickle:
            raise ValueError(
                f'{path} holds objects beyond tensors and numbers ({_reason(error)}); if you trust '
                'the file, rerun with --trust-pickle to unpickle it fully') from None
    return torch.load(path, map_location='cpu', weights_only=False)


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def convert(src: str, dst: str, model: str, trust_pickle: bool = False) -> dict:
    """Convert ``src`` (official) to ``dst`` (ours); returns the written dict."""
    checkpoint = load_official(src, trust_pickle)
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{src} is not an official checkpoint (a dict of state dicts)')
    flat = flatten_official_checkpoint(checkpoint, model)
    state_dict = convert_official_state_dict(flat, model)
    entries = [entry for entry in NETWORK_ENTRIES[model] if entry in checkpoint]
    converted = {
        'state_dict': {key: value.clone() for key, value in state_dict.items()},
        'meta': {
            'converted_from': osp.basename(src),
            'source_sha256': sha256(src),
            'official_model': model,
            'official_entries': entries,
        },
    }
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    with atomic_path(dst) as temporary:
        torch.save(converted, temporary)
    return converted


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert an official FOMM/TPSMM checkpoint (a pickle: convert only files '
        'you trust) to a weights-only cpabmm checkpoint.')
    parser.add_argument('src', help='official checkpoint, e.g. vox.pth.tar')
    parser.add_argument('dst', help='output path, e.g. work_dirs/tpsmm_vox-256.pth')
    parser.add_argument('--model', required=True, choices=sorted(NETWORK_ENTRIES),
                        help='which official code wrote the checkpoint')
    parser.add_argument('--trust-pickle', action='store_true',
                        help='allow full unpickling when the safe loaders refuse the file '
                        '(can run code stored in it)')
    return parser.parse_args(argv)


@tool_main('no output was written')
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if not osp.isfile(args.src):
        print(f'error: {args.src} not found', file=sys.stderr)
        return 1
    try:
        converted = convert(args.src, args.dst, args.model, args.trust_pickle)
    except ValueError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    meta = converted['meta']
    print(f"wrote {args.dst}: {len(converted['state_dict'])} tensors from "
          f"{', '.join(meta['official_entries'])} (source sha256 {meta['source_sha256'][:16]}...)")
    return 0


if __name__ == '__main__':
    sys.exit(main())
