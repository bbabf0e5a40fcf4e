"""Several models animating one source by one driving video, side by side.

A :class:`Comparison` gives every model an :class:`~cpabmm.apis.Animation`
of the same source, driving video and options, reads the driving video once
and steps the animations in lockstep; :meth:`Comparison.render` makes one
frame ``source | driving | model 1 | model 2 | ...``, every column of one
size and titled with its label. Models are named by :func:`resolve_model_specs`:
a model-zoo name or alias, or ``CONFIG.py:CHECKPOINT``.
"""
from __future__ import annotations

import itertools
import os.path as osp
import re
from dataclasses import dataclass
from typing import Any, Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from cpabmm.visualization import PREVIEW_MIN_SIZE, enlarge, panel_row, preview_size, to_uint8
from cpabmm.zoo import load_model_index, resolve_model
from .animate import Animation, AnimationStep
from .media import DrivingVideo, Size, fit_image, open_driving, prepare_image, to_float_rgb

#: ``CONFIG.py:CHECKPOINT``: a config file and its checkpoint, split after
#: the first ``.py:``
PAIR = re.compile(r'^(?P<config>.+?\.py):(?P<checkpoint>.+)$')
#: the titles of the two input columns
INPUT_LABELS = ('source', 'driving')


@dataclass(frozen=True)
class ModelSpec:
    """A model to compare: its column title, config and checkpoint."""
    label: str
    config: str
    checkpoint: str


def resolve_model_spec(spec: str, index: Any = None) -> ModelSpec:
    """The model ``spec`` names: a model-zoo name or alias (its config and its
    verified checkpoint, downloaded when needed; labelled with the name as
    given) or ``CONFIG.py:CHECKPOINT`` (labelled with the config's stem).

    Raises:
        ValueError: an unknown zoo name, a missing file, or a spec of
            neither form (a config without its checkpoint).
        DownloadError: a zoo checkpoint that could not be fetched.
    """
    text = spec.strip()
    pair = PAIR.match(text)
    if pair is not None:
        config, checkpoint = pair['config'], pair['checkpoint']
        for path, what in ((config, 'config'), (checkpoint, 'checkpoint')):
            if not osp.isfile(path):
                raise ValueError(f'{spec}: no such {what} file {path}')
        return ModelSpec(osp.splitext(osp.basename(config))[0], config, checkpoint)
    if not text or ':' in text or text.endswith('.py') or '/' in text:
        raise ValueError(f'{spec!r} is no model: give a model-zoo name '
                         '(tools/download.py --list) or CONFIG.py:CHECKPOINT')
    config, checkpoint = resolve_model(text, index)
    return ModelSpec(text, config, checkpoint)


def resolve_model_specs(specs: Sequence[str]) -> List[ModelSpec]:
    """:func:`resolve_model_spec` of each spec (the zoo index read once).
    Configs used with several checkpoints are labelled
    ``<config stem> (<checkpoint stem>)`` to tell their columns apart."""
    index = None
    if any(PAIR.match(spec.strip()) is None for spec in specs):
        index = load_model_index()
    resolved = [resolve_model_spec(spec, index) for spec in specs]
    checkpoints = {}
    for model in resolved:
        checkpoints.setdefault(model.label, set()).add(osp.realpath(model.checkpoint))
    return [ModelSpec(f'{model.label} ({osp.splitext(osp.basename(model.checkpoint))[0]})',
                      model.config, model.checkpoint)
            if len(checkpoints[model.label]) > 1 else model for model in resolved]


@dataclass
class ComparisonStep:
    """One driving frame animated by every model.

    Attributes:
        index: index of the driving frame.
        driving: the driving frame at column size, ``[H, W, 3]`` uint8.
        steps: each model's :class:`~cpabmm.apis.AnimationStep`, in order.
    """
    index: int
    driving: np.ndarray
    steps: List[AnimationStep]


class Comparison:
    """One source animated by one driving video with several models.

    Iterating yields one :class:`ComparisonStep` per driving frame, reading
    the driving video once, as it goes (each model takes its frames at its
    own size); :meth:`render` turns a step into a comparison frame.

    Args:
        models: :class:`~cpabmm.models.ImageAnimator` s in eval mode.
        labels: one column title per model.
        source, driving, mode, adapt_scale, initial_frame, fit, batch_size:
            as :class:`~cpabmm.apis.Animation`, the same for every model.
        size: frame size of the models that fix none (int or ``(h, w)``);
            models with a fixed ``image_size`` keep theirs.
        min_size: columns are at least this high and wide: the largest
            model frame enlarged by an integer factor
            (:func:`~cpabmm.visualization.preview_size`).
    """

    def __init__(self, models: Sequence[torch.nn.Module], labels: Sequence[str], source: Any,
                 driving: Any, mode: str = 'relative', adapt_scale: bool = True,
                 initial_frame: int = 0, size: Union[int, Sequence[int], None] = None,
                 fit: str = 'crop', batch_size: int = 1,
                 min_size: int = PREVIEW_MIN_SIZE) -> None:
        if not models:
            raise ValueError('a comparison needs at least one model')
        if len(labels) != len(models):
            raise ValueError(f'give one label per model: {len(models)} models, '
                             f'{len(labels)} labels')
        self.labels = list(labels)
        self.fit = fit
        self.video = driving if isinstance(driving, DrivingVideo) else open_driving(driving)
        picture = to_float_rgb(source)  # read once, prepared for each model
        self.animations = [
            Animation(model, picture, self.video, mode, adapt_scale, initial_frame,
                      size if getattr(model, 'image_size', None) is None else None, fit,
                      batch_size) for model in models]
        self.column_size: Size = preview_size([a.size for a in self.animations], min_size)
        self.source = self._column(prepare_image(picture, self.column_size, fit)[0])

    @property
    def num_frames(self) -> Optional[int]:
        """Driving frames, None when unknown (a one-shot iterator)."""
        return self.video.num_frames

    @property
    def initial_frame(self) -> int:
        """The driving frame relative motion starts from (every model's)."""
        return self.animations[0].initial_frame

    def search_initial_frame(self, detector: Any = None, progress=None) -> Optional[int]:
        """Find the driving frame whose face pose is closest to the source's
        once, at the first model's size
        (:meth:`~cpabmm.apis.Animation.search_initial_frame`), and start every
        model's relative motion there."""
        first, *others = self.animations
        best = first.search_initial_frame(detector, progress)
        for animation in others:
            animation.initial_frame = first.initial_frame
        return best

    def __iter__(self) -> Iterator[ComparisonStep]:
        frames, *copies = itertools.tee(self.video, 1 + len(self.animations))
        steps = [animation.steps(copy) for animation, copy in zip(self.animations, copies)]
        for index, (frame, *model_steps) in enumerate(zip(frames, *steps)):
            driving = self._column(prepare_image(frame, self.column_size, self.fit)[0])
            yield ComparisonStep(index, driving, list(model_steps))

    def render(self, step: ComparisonStep, keypoints: bool = False,
               labels: bool = True) -> np.ndarray:
        """The frame ``source | driving | model 1 | ...`` of ``step``: every
        column :attr:`column_size`, titled (``'source'``, ``'driving'``, the
        labels) when ``labels``; with ``keypoints``, each model's column
        shows the keypoints it animated the source to."""
        results = [self._column(s.prediction) for s in step.steps]
        points = None
        if keypoints:
            points = [None, None, *(s.kp_target['value'].numpy() for s in step.steps)]
        titles = [*INPUT_LABELS, *self.labels] if labels else None
        return panel_row([self.source, step.driving, *results], points, titles)

    def _column(self, image: Tensor) -> np.ndarray:
        """A ``[3, h, w]`` picture at column size: enlarged pixel by pixel
        when the column is a whole multiple of it, else resized (``fit``)."""
        height, width = self.column_size
        h, w = image.shape[-2:]
        if height % h == 0 and width % w == 0 and height // h == width // w:
            return enlarge(to_uint8(image), min(height, width))
        resized = fit_image(image.permute(1, 2, 0).numpy(), self.column_size, self.fit)
        return to_uint8(resized)
