"""The manifest of an export folder (``animator.json``): what the graphs are
and how to run them, written by :func:`~cpabmm.deploy.export_onnx` and read
by :class:`~cpabmm.apis.OnnxAnimator`."""
from __future__ import annotations

import json
import os.path as osp

from cpabmm.fileio import atomic_write
from cpabmm.zoo.checksum import file_sha256

#: the manifest's file name in an export folder
MANIFEST = 'animator.json'
#: version of the manifest's layout
FORMAT_VERSION = 1


def write_manifest(folder: str, manifest: dict) -> None:
    """Write ``manifest`` into ``folder`` (atomically)."""
    with atomic_write(osp.join(folder, MANIFEST)) as file:
        json.dump(manifest, file, indent=2)
        file.write('\n')


def read_manifest(folder: str) -> dict:
    """The manifest of an export folder, its graphs checked against their
    SHA-256 (one-line ``ValueError`` for a missing or altered export)."""
    path = osp.join(folder, MANIFEST)
    if not osp.isfile(path):
        raise ValueError(f'{folder}: no ONNX export here ({MANIFEST} is missing); make one '
                         'with tools/export_onnx.py CONFIG CHECKPOINT OUT_DIR')
    with open(path) as file:
        manifest = json.load(file)
    version = manifest.get('format_version')
    if version != FORMAT_VERSION:
        raise ValueError(f'{path}: export format {version} is not the one this cpabmm reads '
                         f'({FORMAT_VERSION}); export the model again')
    for graph in manifest['graphs'].values():
        graph_path = osp.join(folder, graph['file'])
        if not osp.isfile(graph_path):
            raise ValueError(f'{graph_path} is missing: export the model again')
        if file_sha256(graph_path) != graph['sha256']:
            raise ValueError(f'{graph_path} does not match the SHA-256 in {MANIFEST} (changed '
                             'or half-written): export the model again')
    return manifest
