"""Animate a source image by a driving video, one frame at a time.

Three ways to turn the driving frames' keypoints into the keypoints the
generator is given (the published demo modes):

* ``standard``: the driving keypoints themselves (the driving face's shape
  comes along);
* ``relative``: the source keypoints moved by each driving frame's motion
  since an initial driving frame, scaled by
  sqrt(hull area of the source keypoints / hull area of the initial driving
  keypoints) when ``adapt_scale``; Jacobians (FOMM) become
  ``J_d J_d0^-1 J_s`` (:mod:`cpabmm.models.keypoints.relative_motion`; the scale is
  computed once per animation);
* ``avd``: the model's animation-via-disentanglement network maps source and
  driving keypoints to keypoints with the driving pose and the source shape.

Frames are read, animated and handed out one (or ``batch_size``) at a time;
the driving video is never held in memory.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterable, Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.logging import print_log
from torch import Tensor

from cpabmm.models.motion.base import Keypoints
from cpabmm.models.keypoints import movement_scale, relative_keypoints
from .best_frame import build_face_landmarks, find_best_frame
from cpabmm.visualization import PREVIEW_MIN_SIZE, animation_panels, to_uint8
from .media import DrivingVideo, Size, open_driving, prepare_image

MODES = ('standard', 'relative', 'avd')
OUTPUTS = ('numpy', 'tensor')
#: image side used when the model does not fix its input size
DEFAULT_SIZE = 256


def _expand(kp: Keypoints, batch: int) -> Keypoints:
    return {name: value.expand(batch, *value.shape[1:]) for name, value in kp.items()}


def _sample(kp: Keypoints, index: int) -> Keypoints:
    return {name: value[index].cpu() for name, value in kp.items()}


def model_device(model: Any) -> torch.device:
    """Where a model takes its inputs: its parameters' device, or the
    ``device`` of a runtime that is no module (:class:`~cpabmm.apis.OnnxAnimator`)."""
    if isinstance(model, torch.nn.Module):
        return next(model.parameters()).device
    return model.device


def resolve_size(model: torch.nn.Module, size: Union[int, Sequence[int], None]) -> Size:
    """The ``(height, width)`` frames are brought to: the model's fixed
    ``image_size``, else ``size`` (an int for squares), else 256."""
    if isinstance(size, int):
        size = (size, size)
    fixed = getattr(model, 'image_size', None)
    if fixed is not None:
        if size is not None and tuple(size) != tuple(fixed):
            raise ValueError(f'this model takes {fixed[0]}x{fixed[1]} images, not '
                             f'{size[0]}x{size[1]}; leave the size unset')
        return tuple(fixed)
    size = tuple(size) if size is not None else (DEFAULT_SIZE, DEFAULT_SIZE)
    multiple = getattr(model, 'size_multiple', 1)
    if len(size) != 2 or min(size) <= 0 or size[0] % multiple or size[1] % multiple:
        raise ValueError(f'image size {size} does not fit this model: give height and width, '
                         f'multiples of {multiple}')
    return size


@dataclass
class AnimationStep:
    """One animated frame and how it was made (tensors on the CPU).

    Attributes:
        index: index of the driving frame.
        driving: the driving frame as the model saw it, ``[3, H, W]`` in [0, 1].
        prediction: the animated frame, ``[3, H, W]`` in [0, 1].
        kp_driving: keypoints detected in the driving frame (``[K, 2]``...).
        kp_target: keypoints the generator animated the source to.
    """
    index: int
    driving: Tensor
    prediction: Tensor
    kp_driving: Keypoints
    kp_target: Keypoints


class Animation:
    """A source image prepared for animation by a driving video.

    Iterating yields one :class:`AnimationStep` per driving frame, in order,
    reading the driving video as it goes. Use :func:`animate` for the
    frames only.

    Args:
        model: an :class:`~cpabmm.models.ImageAnimator` in eval mode.
        source: the source picture (path, PIL image, array or tensor; see
            :func:`~cpabmm.apis.media.to_float_rgb`).
        driving: the driving video (path, frames, iterable; see
            :func:`~cpabmm.apis.media.open_driving`) or a :class:`DrivingVideo`.
        mode: ``'standard'``, ``'relative'`` or ``'avd'``.
        adapt_scale: in relative mode, scale the motion by the keypoint hulls.
        initial_frame: the driving frame relative motion starts from.
        size: frame size when the model fixes none (int or ``(h, w)``).
        fit: ``'crop'``, ``'pad'`` or ``'stretch'`` for other aspect ratios.
        batch_size: driving frames animated at once.
    """

    def __init__(self, model: torch.nn.Module, source: Any, driving: Any,
                 mode: str = 'relative', adapt_scale: bool = True, initial_frame: int = 0,
                 size: Union[int, Sequence[int], None] = None, fit: str = 'crop',
                 batch_size: int = 1) -> None:
        if mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
        if model.training:
            raise ValueError('the model is in training mode; call model.eval() first')
        if mode == 'avd' and getattr(model, 'avd', None) is None:
            raise ValueError("this model has no AVD network; use mode='relative' or "
                             "'standard'")
        if batch_size < 1:
            raise ValueError(f'batch_size must be at least 1, got {batch_size}')
        self.model = model
        self.mode = mode
        self.adapt_scale = adapt_scale
        self.size = resolve_size(model, size)
        self.fit = fit
        self.batch_size = batch_size
        self.device = model_device(model)
        self.source = prepare_image(source, self.size, fit)
        self.video = driving if isinstance(driving, DrivingVideo) else open_driving(driving)
        count = self.video.num_frames
        if initial_frame < 0 or (count is not None and initial_frame >= count):
            raise ValueError(f'initial frame {initial_frame} is not a frame of the driving '
                             f'video ({count} frames)')
        if initial_frame and not self.video.reopenable:
            raise ValueError('an initial frame other than 0 is read ahead of the others; pass '
                             'a path or a sequence of frames, not a one-shot iterator')
        self.initial_frame = initial_frame
        with torch.no_grad():
            self.kp_source = model.detect_keypoints(self.source.to(self.device))

    @property
    def num_frames(self) -> Optional[int]:
        """Driving frames, None when unknown (a one-shot iterator)."""
        return self.video.num_frames

    def prepare(self, frame: Any) -> Tensor:
        """A driving frame as the model takes it, ``[1, 3, H, W]``."""
        return prepare_image(frame, self.size, self.fit)

    def search_initial_frame(self, detector: Any = None, progress=None) -> Optional[int]:
        """Set :attr:`initial_frame` to the driving frame whose face pose is
        closest to the source's (:func:`~cpabmm.apis.best_frame.find_best_frame`,
        one pass over the driving video at model resolution).

        Args:
            detector: a landmark detector or its config; default MediaPipe.
            progress: called with 1 per frame searched.

        Returns:
            The frame found, or None (then the initial frame is kept, logged)
            when no driving frame shows a face.
        """
        if not self.video.reopenable:
            raise ValueError('find_best_frame reads the driving video twice; pass a path or '
                             'a sequence of frames, not a one-shot iterator')
        built = build_face_landmarks(detector)
        frames = (to_uint8(self.prepare(frame)[0]) for frame in self.video)
        try:
            best = find_best_frame(to_uint8(self.source[0]), frames, built, progress)
        finally:
            if built is not detector:
                built.close()
        if best is None:
            print_log(f'no face in any driving frame: relative motion starts from frame '
                      f'{self.initial_frame}', logger='current', level=logging.WARNING)
        else:
            self.initial_frame = best
        return best

    def __iter__(self) -> Iterator[AnimationStep]:
        return self.steps()

    def steps(self, frames: Optional[Iterable[Any]] = None) -> Iterator[AnimationStep]:
        """Animate ``frames`` (default: the driving video), ``batch_size``
        at a time, one :class:`AnimationStep` each; frames are read only as
        the steps are consumed. Other frames than the video's own (e.g. one
        copy of a stream that several animations share) are animated as
        frames of the driving video: relative motion still starts from its
        :attr:`initial_frame`."""
        return self._steps(frames)

    def render(self, step: AnimationStep, keypoints: bool = False,
               min_size: int = PREVIEW_MIN_SIZE) -> np.ndarray:
        """The preview frame ``source | driving | result`` of ``step`` as
        the model saw it (:func:`~cpabmm.visualization.animation_panels`),
        with the keypoints of each panel when ``keypoints``."""
        points = None
        if keypoints:
            points = [self.kp_source['value'][0].cpu().numpy(),
                      step.kp_driving['value'].numpy(), step.kp_target['value'].numpy()]
        return animation_panels(self._source_uint8, to_uint8(step.driving),
                                to_uint8(step.prediction), points, min_size)

    @cached_property
    def _source_uint8(self) -> np.ndarray:
        return to_uint8(self.source[0])

    @torch.no_grad()  # as a decorator: gradients stay on in the caller between frames
    def _steps(self, frames: Optional[Iterable[Any]]) -> Iterator[AnimationStep]:
        model, source = self.model, self.source.to(self.device)
        target_of = None
        if self.mode == 'relative' and self.initial_frame != 0:
            initial = self.prepare(self.video.read(self.initial_frame)).to(self.device)
            target_of = self._target_function(model.detect_keypoints(initial))
        index = 0
        for chunk in _batches(self.video if frames is None else frames, self.batch_size):
            driving = torch.cat([self.prepare(frame) for frame in chunk]).to(self.device)
            batch = driving.shape[0]
            kp_driving = model.detect_keypoints(driving)
            if target_of is None:
                target_of = self._target_function(_sample_batch(kp_driving, 0))
            kp_target = target_of(kp_driving)
            out = model.animate(source.expand(batch, -1, -1, -1),
                                _expand(self.kp_source, batch), kp_target)
            prediction = out['prediction'].cpu()
            for b in range(batch):
                yield AnimationStep(index, driving[b].cpu(), prediction[b],
                                    _sample(kp_driving, b), _sample(kp_target, b))
                index += 1

    def _target_function(self, kp_initial: Keypoints):
        """Driving keypoints -> the keypoints to animate to, for this mode."""
        kp_source = self.kp_source
        if self.mode == 'standard':
            return lambda kp_driving: kp_driving
        if self.mode == 'avd':
            return lambda kp_driving: self.model.avd(
                _expand(kp_source, kp_driving['value'].shape[0]), kp_driving)
        scale = (movement_scale(kp_source['value'], kp_initial['value'])
                 if self.adapt_scale else None)
        return lambda kp_driving: relative_keypoints(kp_source, kp_driving, kp_initial,
                                                     self.adapt_scale, scale)


def _sample_batch(kp: Keypoints, index: int) -> Keypoints:
    return {name: value[index:index + 1] for name, value in kp.items()}


def _batches(frames, size: int) -> Iterator[List[Any]]:
    batch: List[Any] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def animate(model: torch.nn.Module, source: Any, driving: Any, mode: str = 'relative',
            adapt_scale: bool = True, find_best_frame: bool = False, *,
            initial_frame: int = 0, size: Union[int, Sequence[int], None] = None,
            fit: str = 'crop', batch_size: int = 1, output: str = 'numpy',
            landmark_detector: Any = None) -> Iterator[Union[np.ndarray, Tensor]]:
    """Animate ``source`` by ``driving``; a generator of frames.

    Arguments are checked, the source loaded and the driving video opened
    when this is called; frames are then produced one at a time as the
    generator is consumed (stream them to a file, a window...).

    Args:
        model: an :class:`~cpabmm.models.ImageAnimator` in eval mode (e.g.
            from :func:`~cpabmm.apis.init_model`), on any device.
        source: the picture to animate: path, PIL image, array ``[H, W(,
            C)]`` (uint8, or floats in [0, 1]) or tensor ``[(1,) C, H, W]``
            in [0, 1]; grayscale and RGBA are converted.
        driving: the driving video: a path (video file, frame folder, or one
            image), array ``[T, H, W, C]``, tensor ``[T, C, H, W]``, a
            sequence or iterable of frames.
        mode: ``'standard'``, ``'relative'`` or ``'avd'`` (module docstring).
        adapt_scale: relative mode: scale motion by the keypoint hull areas.
        find_best_frame: relative mode: start from the driving frame whose
            face best matches the source's (an extra pass over the driving
            video with a face landmark detector, MediaPipe by default); the
            result equals animating forwards and backwards from that frame.
        initial_frame: relative mode: the driving frame motion is measured
            from (when not searching for the best one).
        size: frame size when the model fixes none (default 256).
        fit: ``'crop'`` (centre), ``'pad'`` or ``'stretch'`` for pictures of
            another aspect ratio.
        batch_size: driving frames animated at once (faster on GPUs).
        output: ``'numpy'`` for ``[H, W, 3]`` uint8 RGB frames, ``'tensor'``
            for ``[3, H, W]`` float tensors in [0, 1] on the CPU.
        landmark_detector: landmark detector (or config) for
            ``find_best_frame``.

    Yields:
        One animated frame per driving frame, in order.
    """
    if output not in OUTPUTS:
        raise ValueError(f'output must be one of {OUTPUTS}, got {output!r}')
    animation = Animation(model, source, driving, mode, adapt_scale, initial_frame, size,
                          fit, batch_size)
    search = find_best_frame and mode == 'relative'
    if find_best_frame and not search:
        print_log(f'find_best_frame only changes relative mode; ignored in {mode} mode',
                  logger='current', level=logging.WARNING)
    if search and not animation.video.reopenable:
        raise ValueError('find_best_frame reads the driving video twice; pass a path or a '
                         'sequence of frames, not a one-shot iterator')
    detector = build_face_landmarks(landmark_detector) if search else None
    return _frames(animation, detector, output)


def _frames(animation: Animation, detector: Any,
            output: str) -> Iterator[Union[np.ndarray, Tensor]]:
    if detector is not None:
        try:
            animation.search_initial_frame(detector)
        finally:
            detector.close()
    for step in animation:
        yield to_uint8(step.prediction) if output == 'numpy' else step.prediction
