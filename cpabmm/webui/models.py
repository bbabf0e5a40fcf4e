"""The models the web app offers, found without downloading anything.

* zoo entries whose weights are here: bundled in the source tree, or a
  download already in the checkpoint cache (verified by SHA-256 each time
  they are loaded, :func:`cpabmm.zoo.fetch_model`);
* official FOMM/TPSMM entries once converted: the file their ``Convert``
  command writes (e.g. ``tpsmm_vox-256.pth``) in the checkpoint cache or in a
  ``--checkpoint-dir`` folder, offered under the zoo name with the entry's
  config;
* ``--config``/``--checkpoint`` pairs, labelled like ``tools/demo.py
  --compare`` labels them (:func:`cpabmm.apis.resolve_model_specs`).

Every checkpoint is loaded weights-only, as everywhere
(:func:`cpabmm.apis.init_model`).
"""
from __future__ import annotations

import os.path as osp
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

from cpabmm.apis.animate import MODES
from cpabmm.apis.compare import resolve_model_specs
from cpabmm.engine import load_config
from cpabmm.zoo import (ModelEntry, ModelIndex, cache_dir, cached_path, fetch_model, is_url,
                        load_model_index)

#: where a model comes from (shown next to its name)
ORIGINS = ('bundled', 'cached', 'converted', 'command line')


@dataclass(frozen=True)
class ModelChoice:
    """One model the app offers.

    Attributes:
        label: the name shown and used as its column title (a zoo alias or
            name, or the config's stem for command-line pairs).
        config: its config file.
        checkpoint: its weights; for ``bundled`` and ``cached`` zoo entries
            they are verified against the index (:meth:`checkpoint_file`).
        origin: one of :data:`ORIGINS`.
        entry: the zoo entry, None for command-line pairs.
        image_size: the ``(height, width)`` the model takes, None for any.
        has_avd: whether the model has an AVD network (``avd`` mode).
    """
    label: str
    config: str
    checkpoint: str
    origin: str
    entry: Optional[ModelEntry] = None
    image_size: Optional[Tuple[int, int]] = None
    has_avd: bool = False

    @property
    def description(self) -> str:
        """``label (64x64, bundled)``: what the page lists."""
        size = (f'{self.image_size[0]}x{self.image_size[1]}' if self.image_size
                else 'any size')
        return f'{self.label} ({size}, {self.origin})'

    def checkpoint_file(self) -> str:
        """The checkpoint to load: zoo weights verified by their SHA-256
        (never downloaded here), other files as they are.

        Raises:
            ValueError: the file is gone, or the zoo entry cannot be verified.
            cpabmm.zoo.ChecksumError: other bytes than the index's.
        """
        if self.origin in ('bundled', 'cached'):
            if not osp.isfile(self.checkpoint):
                raise ValueError(f'{self.label}: {self.checkpoint} is gone; fetch it again '
                                 f'with `python tools/download.py {self.entry.name}`')
            return fetch_model(self.entry, progress=False)
        if not osp.isfile(self.checkpoint):
            raise ValueError(f'{self.label}: no such checkpoint file {self.checkpoint}')
        return self.checkpoint


def _label(entry: ModelEntry) -> str:
    return entry.aliases[0] if entry.aliases else entry.name


def _local_weights(entry: ModelEntry,
                   checkpoint_dirs: Sequence[str]) -> Optional[Tuple[str, str]]:
    """``(path, origin)`` of the entry's weights where they are here."""
    if entry.official is not None:
        name = entry.official.converted_name
        if name is None:
            return None
        for folder in (cache_dir(), *checkpoint_dirs):
            path = osp.join(folder, name)
            if osp.isfile(path):
                return path, 'converted'
        return None
    if entry.weights is None or entry.sha256 is None:
        return None
    if is_url(entry.weights):
        path = cached_path(entry.weights, entry.sha256)
        return (path, 'cached') if osp.isfile(path) else None
    return (entry.weights, 'bundled') if osp.isfile(entry.weights) else None


def _with_model_facts(choice: ModelChoice) -> ModelChoice:
    """``choice`` with the image size and AVD network its config gives."""
    model = load_config(choice.config).model
    size = model.get('image_size')
    return ModelChoice(choice.label, choice.config, choice.checkpoint, choice.origin,
                       choice.entry, tuple(size) if size is not None else None,
                       model.get('avd') is not None)


def list_models(checkpoint_dirs: Sequence[str] = (),
                pairs: Sequence[Tuple[str, str]] = (),
                index: Optional[ModelIndex] = None) -> List[ModelChoice]:
    """Every model the app can run, in the zoo index's order, then the
    command-line ``(config, checkpoint)`` pairs.

    Raises:
        ValueError: a ``--checkpoint-dir`` that is no folder, a pair whose
            files are missing, or a label used twice.
    """
    for folder in checkpoint_dirs:
        if not osp.isdir(folder):
            raise ValueError(f'--checkpoint-dir {folder}: no such folder')
    index = index or load_model_index()
    choices = []
    for entry in index.entries:
        found = _local_weights(entry, checkpoint_dirs)
        if found is not None:
            choices.append(ModelChoice(_label(entry), entry.config, found[0], found[1], entry))
    if pairs:
        for spec in resolve_model_specs([f'{config}:{checkpoint}'
                                         for config, checkpoint in pairs]):
            choices.append(ModelChoice(spec.label, spec.config, spec.checkpoint,
                                       'command line'))
    labels = [choice.label for choice in choices]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ValueError(f'two models are called {repeated[0]!r}; rename the config file '
                         'given with --config')
    return [_with_model_facts(choice) for choice in choices]


def find_choices(choices: Iterable[ModelChoice], labels: Sequence[str]) -> List[ModelChoice]:
    """The choices called ``labels``, in that order.

    Raises:
        ValueError: no label, or one the app does not offer.
    """
    by_label = {choice.label: choice for choice in choices}
    if not labels:
        raise ValueError('choose at least one model')
    unknown = [label for label in labels if label not in by_label]
    if unknown:
        raise ValueError(f'unknown model {unknown[0]!r}; this app offers '
                         f'{", ".join(by_label) or "none"}')
    return [by_label[label] for label in labels]


def available_modes(choices: Sequence[ModelChoice]) -> Tuple[str, ...]:
    """The animation modes every model of ``choices`` can run: ``avd`` only
    when each has an AVD network."""
    if choices and all(choice.has_avd for choice in choices):
        return MODES
    return tuple(mode for mode in MODES if mode != 'avd')
