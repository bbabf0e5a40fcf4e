"""Fetch a checkpoint of the model zoo, or any checkpoint with its SHA-256,
into the checkpoint cache and print its path.

    python tools/download.py cpabmm-lite                    # a zoo name or alias
    python tools/download.py https://host/ckpt.pth --sha256 HEX [--dest DIR]
    python tools/download.py ~/Downloads/vox.pth.tar --sha256 HEX
    python tools/download.py --list

A file is kept only when its SHA-256 is the expected one (the index's, or
--sha256): a corrupt or truncated transfer is deleted and the exit status is
non-zero. A verified file already in the cache is reused without touching
the network; a file of that name with other bytes is never deleted or
overwritten (the tool stops and says so). The cache is ~/.cache/cpabmm/checkpoints, $CPABMM_HOME/checkpoints
when CPABMM_HOME is set, or --dest.

Exit status: 0 with the file's path, alone, on stdout (log lines go to
stderr); 1 when the transfer failed or gave other bytes, or the cache cannot
be written; 2 for unusable input (unknown name, missing --sha256, ...); 130
or 143 when interrupted (Ctrl-C) or terminated (SIGTERM), leaving nothing.
"""
from __future__ import annotations

import argparse
import logging
import os.path as osp
import sys
from contextlib import contextmanager
from typing import Iterator, List, Optional

from mmengine.logging import MMLogger

from cpabmm.utils.tool import tool_main
from cpabmm.zoo import (DownloadError, ModelIndex, fetch_model, fetch_source, find_model,
                        is_url, load_model_index)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Download and verify a checkpoint; prints its path.')
    parser.add_argument('source', nargs='?', metavar='NAME|URL',
                        help='a zoo name or alias, an http(s)/file URL, or a local file')
    parser.add_argument('--sha256', metavar='HEX',
                        help='expected SHA-256 (required for URLs and files)')
    parser.add_argument('--dest', metavar='DIR',
                        help='cache folder (default: $CPABMM_HOME/checkpoints or '
                        '~/.cache/cpabmm/checkpoints)')
    parser.add_argument('--index', metavar='FILE',
                        help='model-index.yml to read (default: $CPABMM_MODEL_INDEX or the '
                        "source tree's)")
    parser.add_argument('--list', action='store_true', help='list the zoo and exit')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    args = parser.parse_args(argv)
    if not args.list and args.source is None:
        parser.error('give a model NAME or a URL (or --list)')
    return args


def list_models(index: ModelIndex) -> None:
    """One line per entry: name, aliases, and what the index offers."""
    for entry in index.entries:
        aliases = ', '.join(entry.aliases) or '-'
        if entry.official is not None:
            offer = f'official pickle {entry.official.file} (convert it)'
        elif entry.sha256 is None:
            offer = 'no verified weights yet'
        else:
            offer = osp.relpath(entry.weights) if not is_url(entry.weights) else entry.weights
        print(f'{entry.name}  [{aliases}]  {offer}')


@contextmanager
def log_to_stderr() -> Iterator[None]:
    """Meanwhile, MMEngine's console log goes to stderr, so that stdout holds
    only the path."""
    handlers = [handler for handler in MMLogger.get_current_instance().handlers
                if type(handler) is logging.StreamHandler]
    streams = [handler.stream for handler in handlers]
    for handler in handlers:
        handler.stream = sys.stderr
    try:
        yield
    finally:
        for handler, stream in zip(handlers, streams):
            handler.stream = stream


def fetch(args: argparse.Namespace) -> str:
    """The verified file ``args`` ask for."""
    source = args.source
    progress = not args.quiet
    if is_url(source) or osp.isfile(source):
        if args.sha256 is None:
            raise ValueError(f'{source}: pass --sha256 HEX, the SHA-256 its publisher gives; '
                             'nothing unverified is kept')
        return fetch_source(source, args.sha256, args.dest, progress)
    if osp.sep in source:
        raise ValueError(f'{source}: no such file')
    entry = find_model(load_model_index(args.index), source)
    path = fetch_model(entry, args.dest, args.sha256, progress)
    if entry.official is not None:
        print(f'{path} is an official pickle; convert it before use: '
              f'{entry.official.convert}', file=sys.stderr)
    return path


@tool_main('nothing was kept')
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        if args.list:
            list_models(load_model_index(args.index))
            return 0
        with log_to_stderr():
            path = fetch(args)
        print(path)
    except (DownloadError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1 if isinstance(error, DownloadError) else 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
