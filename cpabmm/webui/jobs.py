"""One web-app job: check the uploads against the limits, animate the source
with every chosen model (:class:`cpabmm.apis.Comparison`) and write the
videos (:func:`cpabmm.io.write_videos`, the driving audio copied).

Bad input raises the one-line ``ValueError`` (or
:class:`~cpabmm.apis.best_frame.LandmarkDetectorUnavailable`,
:class:`~cpabmm.zoo.DownloadError`) that ``tools/demo.py`` prints for it;
:func:`public_message` puts the uploaded file's own name in place of its
temporary path.
"""
from __future__ import annotations

import os
import os.path as osp
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from cpabmm.apis.animate import MODES
from cpabmm.apis.compare import Comparison
from cpabmm.apis.inference import init_model
from cpabmm.apis.media import (FIT_MODES, DrivingVideo, is_image_path, load_image,
                               open_driving, parse_size)
from cpabmm.io import image_header, open_video, write_videos
from cpabmm.visualization import PREVIEW_MIN_SIZE, to_uint8
from .models import ModelChoice
from .storage import ResultStore

#: ``progress(stage, done, total)``: ``total`` None while unknown
Progress = Callable[[str, int, Optional[int]], None]
#: the name of the side-by-side video in a job's folder
COMPARISON_NAME = 'comparison.mp4'


@dataclass(frozen=True)
class Limits:
    """What the app accepts.

    Attributes:
        max_frames: driving frames at most.
        max_side: pixels at most on either side of the source picture and
            of the driving frames.
        max_upload_mb: size of an uploaded file at most, in megabytes
            (10^6 bytes).
    """
    max_frames: int = 1000
    max_side: int = 4096
    max_upload_mb: float = 200.0

    def __post_init__(self) -> None:
        for name in ('max_frames', 'max_side', 'max_upload_mb'):
            if getattr(self, name) <= 0:
                raise ValueError(f'--{name.replace("_", "-")} must be positive, got '
                                 f'{getattr(self, name)}')

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1e6)

    def describe(self) -> str:
        """One sentence for the page."""
        return (f'Driving videos of up to {self.max_frames} frames; pictures and frames of up '
                f'to {self.max_side} pixels a side; files of up to {self.max_upload_mb:g} MB.')


@dataclass(frozen=True)
class JobOptions:
    """How to animate: as ``tools/demo.py``'s options of the same names.

    Attributes:
        mode: ``'relative'``, ``'standard'`` or ``'avd'``.
        adapt_scale: relative mode: scale motion by the keypoint hulls.
        find_best_frame: relative mode: start from the driving frame whose
            face best matches the source (needs mediapipe).
        keypoints: mark each model's keypoints on its column.
        size: ``'N'`` or ``'HxW'`` for models without a fixed size; empty
            or None for 256.
        fit: ``'crop'``, ``'pad'`` or ``'stretch'``.
    """
    mode: str = 'relative'
    adapt_scale: bool = True
    find_best_frame: bool = False
    keypoints: bool = False
    size: Optional[str] = None
    fit: str = 'crop'

    def checked_size(self) -> Optional[Tuple[int, int]]:
        """The options checked; the frame size, None for the default.

        Raises:
            ValueError: an unknown mode or fit, or a malformed size.
        """
        if self.mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {self.mode!r}')
        if self.fit not in FIT_MODES:
            raise ValueError(f'fit must be one of {FIT_MODES}, got {self.fit!r}')
        return parse_size(self.size) if self.size and self.size.strip() else None


@dataclass
class JobResult:
    """What a job wrote.

    Attributes:
        folder: the job's folder.
        video: the side-by-side video (source | driving | each model).
        downloads: that video, then each model's own result, in order.
        num_frames: frames of each video.
        fps: their frame rate (the driving video's).
        audio: whether the driving audio was copied.
        initial_frame: the driving frame relative motion started from.
        notes: what the page should tell besides (ignored options...).
    """
    folder: str
    video: str
    downloads: List[str]
    num_frames: int
    fps: float
    audio: bool
    initial_frame: int
    notes: List[str] = field(default_factory=list)

    def summary(self) -> str:
        """Markdown for the page."""
        audio = ('with the driving audio' if self.audio
                 else 'without audio (the driving video has none)')
        text = f'{self.num_frames} frames at {self.fps:g} fps, {audio}'
        if self.initial_frame:
            text += f'; relative motion from driving frame {self.initial_frame}'
        return '\n\n'.join([text + '.', *self.notes])


def public_message(error: BaseException, names: Mapping[str, str]) -> str:
    """``str(error)`` on one line, with each temporary path of ``names``
    replaced by the name the file was uploaded as."""
    message = ' '.join(str(error).split('\n')).strip() or type(error).__name__
    for path, name in sorted(names.items(), key=lambda item: -len(item[0])):
        for spelling in {path, osp.realpath(path)}:
            message = message.replace(spelling, name)
    return message


def _check_file_size(path: str, limits: Limits) -> None:
    if not osp.isfile(path):
        return  # the readers say what is missing
    size = os.stat(path).st_size
    if size > limits.max_upload_bytes:
        raise ValueError(f'{path}: {size / 1e6:.1f} MB; this app takes files of up to '
                         f'{limits.max_upload_mb:g} MB')


def _check_side(path: str, size: Tuple[int, int], what: str, limits: Limits) -> None:
    height, width = size
    if max(height, width) > limits.max_side:
        raise ValueError(f'{path}: {what} of {width}x{height} pixels; this app takes up to '
                         f'{limits.max_side} pixels a side')


def load_source(path: str, limits: Limits) -> np.ndarray:
    """The source picture (:func:`cpabmm.apis.media.load_image`), checked
    against ``limits`` from its header before it is decoded.

    Raises:
        ValueError: too large a file or picture, or (``VideoError``) a
            missing or unreadable one.
    """
    _check_file_size(path, limits)
    if osp.isfile(path):
        _check_side(path, image_header(path)[1], 'a picture', limits)
    return load_image(path)


def open_checked_driving(path: str, limits: Limits) -> DrivingVideo:
    """The driving video (:func:`cpabmm.apis.media.open_driving`), its
    length and frame size checked against ``limits`` before any frame but
    the first is decoded.

    Raises:
        ValueError: too large a file, too many frames or too large frames,
            or (``VideoError``) a missing, unreadable or empty video.
    """
    _check_file_size(path, limits)
    if is_image_path(path):
        if osp.isfile(path):
            _check_side(path, image_header(path)[1], 'a picture', limits)
        return open_driving(path)
    video = open_video(path, convert_channels=True)
    if video.num_frames > limits.max_frames:
        raise ValueError(f'{path}: {video.num_frames} frames; this app takes driving videos of '
                         f'up to {limits.max_frames} frames')
    _check_side(path, video.frame_size, 'frames', limits)
    return open_driving(video)


class ModelCache:
    """The models of recent jobs, built once and kept on the device (the
    least recently used is dropped beyond ``capacity``).

    Args:
        device: where the models run.
        capacity: models kept at most.
    """

    def __init__(self, device: str = 'cpu', capacity: int = 4) -> None:
        self.device = device
        self.capacity = capacity
        self._models: 'OrderedDict[Tuple[str, str], torch.nn.Module]' = OrderedDict()
        self._lock = threading.Lock()

    def get(self, choice: ModelChoice) -> torch.nn.Module:
        """The model of ``choice`` in eval mode; its checkpoint is verified
        (zoo weights: by SHA-256) every time, and loaded weights-only when
        it is not in memory yet."""
        checkpoint = choice.checkpoint_file()
        key = (osp.realpath(choice.config), osp.realpath(checkpoint))
        with self._lock:
            model = self._models.pop(key, None)
            if model is None:
                model = init_model(choice.config, checkpoint, device=self.device)
            self._models[key] = model
            while len(self._models) > self.capacity:
                self._models.popitem(last=False)
        return model


def result_names(labels: Sequence[str]) -> List[str]:
    """One file name per model label (letters, digits, ``._-``), all
    different and none :data:`COMPARISON_NAME`."""
    names: List[str] = []
    taken = {COMPARISON_NAME}
    for label in labels:
        stem = re.sub(r'[^A-Za-z0-9._-]+', '_', label).strip('._') or 'model'
        name, number = f'{stem}.mp4', 1
        while name in taken:
            number += 1
            name = f'{stem}_{number}.mp4'
        taken.add(name)
        names.append(name)
    return names


def _size_notes(choices: Sequence[ModelChoice], comparison: Comparison,
                size: Optional[Tuple[int, int]]) -> List[str]:
    """Which models keep their own size when a frame size is given."""
    if size is None:
        return []
    return [f'{choice.label} takes {animation.size[0]}x{animation.size[1]} images; the frame '
            'size applies to the models without a fixed size'
            for choice, animation in zip(choices, comparison.animations)
            if animation.size != tuple(size)]


def run_job(choices: Sequence[ModelChoice], source: str, driving: str, options: JobOptions,
            store: ResultStore, models: ModelCache, limits: Limits = Limits(),
            progress: Optional[Progress] = None) -> JobResult:
    """Animate ``source`` by ``driving`` with every model of ``choices`` and
    write, into a new job folder of ``store``, the side-by-side video
    ``comparison.mp4`` (source | driving | a titled column per model, with
    their keypoints when ``options.keypoints``) and each model's own result
    ``<label>.mp4``, with the driving audio.

    Args:
        choices: the models, in column order (at least one).
        source: the source picture's path.
        driving: the driving video's path.
        options: mode, frame size and the other options.
        store: where the job's folder is made.
        models: the loaded models to reuse.
        limits: what the uploads may be.
        progress: told ``(stage, done, total)`` as the job advances.

    Raises:
        ValueError: bad options or input (one line, as ``tools/demo.py``).
        cpabmm.apis.best_frame.LandmarkDetectorUnavailable: the best frame
            was asked for and no face landmark detector can run.
        cpabmm.zoo.DownloadError: a zoo checkpoint failed its SHA-256.
        cpabmm.fileio.WriteError: the videos could not be written.
    """
    report = progress or (lambda stage, done, total: None)
    if not choices:
        raise ValueError('choose at least one model')
    size = options.checked_size()
    if options.mode == 'avd':
        lacking = [choice.label for choice in choices if not choice.has_avd]
        if lacking:
            raise ValueError(f'{lacking[0]} has no AVD network; use mode relative or standard')
    picture = load_source(source, limits)
    video = open_checked_driving(driving, limits)
    loaded = []
    for number, choice in enumerate(choices):
        report(f'loading {choice.label}', number, len(choices))
        loaded.append(models.get(choice))
    comparison = Comparison(loaded, [choice.label for choice in choices], picture, video,
                            options.mode, options.adapt_scale, 0, size, options.fit, 1,
                            PREVIEW_MIN_SIZE)
    notes = _size_notes(choices, comparison, size)
    if video.num_frames == 1 and options.mode == 'relative':
        notes.append('one driving frame in relative mode gives back the source; use mode '
                     'standard to take its pose')
    if options.find_best_frame:
        if options.mode == 'relative':
            searched = [0]

            def advance(count: int) -> None:
                searched[0] += count
                report('finding the best frame', searched[0], video.num_frames)

            if comparison.search_initial_frame(progress=advance) is None:
                notes.append('no face in any driving frame: relative motion starts from '
                             'frame 0')
        else:
            notes.append(f'find best frame only changes relative mode; ignored in '
                         f'{options.mode} mode')
    with store.job() as folder:
        names = [COMPARISON_NAME, *result_names([choice.label for choice in choices])]
        paths = [osp.join(folder, name) for name in names]
        frames = ([comparison.render(step, options.keypoints),
                   *(to_uint8(model_step.prediction) for model_step in step.steps)]
                  for step in comparison)
        done = [0]

        def animated(count: int) -> None:
            done[0] += count
            report('animating', done[0], video.num_frames)

        report('animating', 0, video.num_frames)
        writers = write_videos(paths, frames, video.fps, progress=animated,
                               audio_from=video.path)
    return JobResult(folder, paths[0], paths, writers[0].num_frames, video.fps,
                     writers[0].copies_audio, comparison.initial_frame, notes)
