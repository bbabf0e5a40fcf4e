"""Reading the model zoo index.

The index follows OpenMMLab's layout: a root ``model-index.yml`` whose
``Import`` lists one ``configs/<model>/metafile.yml`` per model family; each
metafile has ``Collections`` (the family: paper, README) and ``Models``, one
entry per checkpoint::

    Models:
      - Name: cpabmm_k10-lite_synthetic-64
        Alias: cpabmm-lite            # a name or a list of names
        In Collection: CPABMM
        Config: configs/cpabmm/cpabmm_k10-lite_1xb8-20e_synthetic-64.py
        Weights: model_zoo/cpabmm_k10-lite_synthetic-64.pth   # or an http(s)/file URL
        SHA-256: <64 hex digits>
        Results:
          - Task: Image Animation
            Dataset: synthetic-64
            Metrics: {L1: ..., PSNR: ...}

Entries for the official FOMM/TPSMM checkpoints carry ``Official Checkpoint``
(``File``, ``Locations``, ``Convert``) instead of ``SHA-256``: the authors
publish no digest, and their files are pickles that must be converted before
they load (``Weights`` then names a direct link when one is known).

Relative paths (configs, local weights, imports) are relative to the folder
of ``model-index.yml``.
"""
from __future__ import annotations

import os
import os.path as osp
import shlex
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

from .checksum import normalise_sha256

#: environment variable naming another model-index.yml
INDEX_ENV = 'CPABMM_MODEL_INDEX'


def is_url(source: str) -> bool:
    """Whether ``source`` is a URL (``scheme://...``) rather than a path."""
    return '://' in source


@dataclass(frozen=True)
class OfficialCheckpoint:
    """Where an official (pickled) checkpoint is published and how it is
    converted to a weights-only one."""
    file: str
    locations: Tuple[str, ...]
    convert: str

    @property
    def converted_name(self) -> Optional[str]:
        """The file name the ``convert`` command writes (its output's base
        name, e.g. ``tpsmm_vox-256.pth``), None where it names none."""
        try:
            words = shlex.split(self.convert)
        except ValueError:
            return None
        tools = [i for i, word in enumerate(words) if word.endswith('convert_checkpoint.py')]
        if not tools:
            return None
        positional, skip = [], False
        for word in words[tools[0] + 1:]:
            if skip:
                skip = False
            elif word.startswith('-'):
                skip = word == '--model'  # the one option that takes a value
            else:
                positional.append(word)
        return osp.basename(positional[1]) if len(positional) >= 2 else None


@dataclass(frozen=True)
class ModelEntry:
    """One checkpoint of the zoo; paths are absolute."""
    name: str
    config: str
    metafile: str
    aliases: Tuple[str, ...] = ()
    collection: Optional[str] = None
    weights: Optional[str] = None
    sha256: Optional[str] = None
    results: Tuple[Dict[str, Any], ...] = ()
    official: Optional[OfficialCheckpoint] = None

    @property
    def names(self) -> Tuple[str, ...]:
        """The name and every alias."""
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class ModelIndex:
    """Every entry of the zoo, by name and alias (case-insensitive)."""
    path: str
    entries: Tuple[ModelEntry, ...]
    by_name: Dict[str, ModelEntry] = field(repr=False)


def default_index_path() -> str:
    """``$CPABMM_MODEL_INDEX``, else the ``model-index.yml`` of the source
    tree cpabmm is imported from."""
    override = os.environ.get(INDEX_ENV)
    if override:
        return osp.abspath(osp.expanduser(override))
    package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    return osp.join(osp.dirname(package), 'model-index.yml')


def _read_yaml(path: str, what: str) -> Mapping:
    if not osp.isfile(path):
        raise ValueError(f'{what} not found: {path} (set {INDEX_ENV} to the model-index.yml '
                         'of a cpabmm source tree)')
    with open(path, encoding='utf-8') as stream:
        try:
            content = yaml.safe_load(stream)
        except yaml.YAMLError as error:
            raise ValueError(f'{path}: not valid YAML ({str(error).splitlines()[0]})') from None
    if not isinstance(content, Mapping):
        raise ValueError(f'{path}: expected a mapping at the top level')
    return content


def _as_list(value: Any, where: str) -> List:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise ValueError(f'{where}: expected a name or a list of names, got {value!r}')


def _local_or_url(value: str, root: str) -> str:
    if is_url(value):
        return value
    return osp.normpath(osp.join(root, osp.expanduser(value)))


def _official(raw: Any, where: str) -> OfficialCheckpoint:
    if not isinstance(raw, Mapping) or not {'File', 'Locations', 'Convert'} <= set(raw):
        raise ValueError(f'{where}: Official Checkpoint needs File, Locations and Convert')
    return OfficialCheckpoint(file=str(raw['File']),
                              locations=tuple(_as_list(raw['Locations'], where)),
                              convert=str(raw['Convert']).strip())


def _entry(raw: Any, root: str, metafile: str, number: int) -> ModelEntry:
    where = f'{metafile}: Models[{number}]'
    if not isinstance(raw, Mapping) or not raw.get('Name') or not raw.get('Config'):
        raise ValueError(f'{where}: every model needs a Name and a Config')
    where = f'{metafile}: {raw["Name"]}'
    sha256 = raw.get('SHA-256')
    official = raw.get('Official Checkpoint')
    return ModelEntry(
        name=str(raw['Name']),
        aliases=tuple(_as_list(raw.get('Alias'), where)),
        collection=raw.get('In Collection'),
        config=_local_or_url(str(raw['Config']), root),
        metafile=metafile,
        weights=_local_or_url(str(raw['Weights']), root) if raw.get('Weights') else None,
        sha256=normalise_sha256(sha256, f'{where}: SHA-256') if sha256 else None,
        results=tuple(raw.get('Results') or ()),
        official=_official(official, where) if official is not None else None)


def _metafile_entries(path: str, root: str) -> List[ModelEntry]:
    content = _read_yaml(path, 'metafile')
    models = content.get('Models') or []
    if not isinstance(models, list):
        raise ValueError(f'{path}: Models must be a list')
    return [_entry(raw, root, path, number) for number, raw in enumerate(models)]


def load_model_index(path: Optional[str] = None) -> ModelIndex:
    """Read ``model-index.yml`` (default :func:`default_index_path`) and the
    metafiles it imports.

    Raises:
        ValueError: a file is missing or malformed, or two entries share a
            name or alias.
    """
    path = osp.abspath(path or default_index_path())
    root = osp.dirname(path)
    imports = _as_list(_read_yaml(path, 'model index').get('Import'), f'{path}: Import')
    entries: List[ModelEntry] = []
    for metafile in imports:
        entries.extend(_metafile_entries(osp.normpath(osp.join(root, metafile)), root))
    by_name: Dict[str, ModelEntry] = {}
    for entry in entries:
        for name in entry.names:
            other = by_name.setdefault(name.lower(), entry)
            if other is not entry:
                raise ValueError(f'{entry.metafile}: the name {name!r} of {entry.name} is '
                                 f'already used by {other.name} ({other.metafile})')
    return ModelIndex(path=path, entries=tuple(entries), by_name=by_name)
