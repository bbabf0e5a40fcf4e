"""User images and driving videos, brought to the size a model takes.

Everything the animation API accepts as a picture (a file path, a PIL image,
a NumPy array of any channel count, a tensor) becomes one ``[1, 3, H, W]``
float tensor in [0, 1] through :func:`prepare_image`; a driving video in any
form becomes a :class:`DrivingVideo`, which streams its frames.
"""
from __future__ import annotations

import os
import os.path as osp
from fractions import Fraction
from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from cpabmm.io import (DEFAULT_FPS, IMAGE_EXTENSIONS, VideoError, VideoSource, check_video,
                       open_video, pil_to_rgb, read_image, to_unit_float)

#: how an image of another aspect ratio is brought to the model's
FIT_MODES = ('crop', 'pad', 'stretch')
#: colour that transparent pictures are composited over
ALPHA_BACKGROUND = (255, 255, 255)

Size = Tuple[int, int]


def parse_size(text: str) -> Size:
    """``'256'`` or ``'HxW'`` (e.g. ``'384x256'``) as ``(height, width)``.

    Raises:
        ValueError: ``size must be N or HxW, got '...'``.
    """
    try:
        sides = [int(side) for side in text.strip().lower().split('x')]
    except ValueError:
        sides = []
    if len(sides) == 1:
        sides = sides * 2
    if len(sides) != 2 or min(sides) <= 0:
        raise ValueError(f'size must be N or HxW, got {text!r}')
    return sides[0], sides[1]


def is_image_path(path: Any) -> bool:
    """Whether ``path`` names an image file (by its extension)."""
    return (isinstance(path, (str, os.PathLike)) and not osp.isdir(path)
            and osp.splitext(os.fspath(path))[1].lower() in IMAGE_EXTENSIONS)


def load_image(path: Union[str, os.PathLike]) -> np.ndarray:
    """A picture file as ``[H, W, 3]`` RGB, ``uint8`` for 8-bit files and
    ``float32`` in [0, 1] for 16-bit ones (scaled by the file's bit depth,
    :func:`cpabmm.io.read_image`): grayscale replicated, transparency
    composited over white, EXIF orientation applied.

    Raises:
        VideoError: the file is missing or not a readable image.
    """
    path = os.fspath(path)
    if not osp.isfile(path):
        raise VideoError(path, 'no such image file', 'check the path')
    return read_image(path, convert_channels=True, alpha_background=ALPHA_BACKGROUND,
                      exif_transpose=True)


def to_float_rgb(image: Any) -> np.ndarray:
    """Any picture as an ``[H, W, 3]`` float32 RGB array in [0, 1].

    Accepts a file path, a PIL image, an array ``[H, W]``, ``[H, W, 1|3|4]``
    (uint8, uint16 or floats in [0, 1]) or a tensor ``[C, H, W]`` /
    ``[1, C, H, W]`` (floats in [0, 1] or uint8). Alpha is composited over
    white, gray replicated. Float input is kept exactly.
    """
    if isinstance(image, (str, os.PathLike)):
        image = load_image(image)
    elif type(image).__module__.startswith('PIL.'):
        image = pil_to_rgb(image, '<PIL image>', True, ALPHA_BACKGROUND)
    elif isinstance(image, Tensor):
        image = _tensor_to_hwc(image)
    if not isinstance(image, np.ndarray):
        raise ValueError(f'expected an image (path, PIL image, array or tensor), got '
                         f'{type(image).__name__}')
    return _array_to_float_rgb(image)


def _tensor_to_hwc(image: Tensor) -> np.ndarray:
    if image.dim() == 4 and image.shape[0] == 1:
        image = image[0]
    if image.dim() == 2:
        image = image[None]
    if image.dim() != 3 or image.shape[0] not in (1, 3, 4):
        raise ValueError(f'image tensors must be [C, H, W] or [1, C, H, W] with C in '
                         f'(1, 3, 4), got {list(image.shape)}')
    return image.detach().cpu().permute(1, 2, 0).numpy()


def _array_to_float_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4) or min(image.shape[:2]) == 0:
        raise ValueError(f'images must be [H, W] or [H, W, C] with C in (1, 3, 4), '
                         f'got shape {image.shape}')
    image = to_unit_float(image)
    if image.shape[2] == 4:
        alpha = image[..., 3:]
        background = np.asarray(ALPHA_BACKGROUND, np.float32) / 255
        image = image[..., :3] * alpha + background * (1 - alpha)
    elif image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return image


def fit_image(image: np.ndarray, size: Size, fit: str = 'crop') -> np.ndarray:
    """Bring an ``[H, W, 3]`` float image to ``size`` = ``(height, width)``.

    ``fit``: ``'crop'`` cuts the centre of the target aspect ratio,
    ``'pad'`` adds black borders to reach it, ``'stretch'`` ignores it.
    Shrinking averages areas, enlarging is bicubic; an image already of
    ``size`` is returned unchanged.
    """
    import cv2
    if fit not in FIT_MODES:
        raise ValueError(f'fit must be one of {FIT_MODES}, got {fit!r}')
    height, width = image.shape[:2]
    target_h, target_w = size
    if fit != 'stretch':
        # the largest (crop) or smallest (pad) window of the target aspect
        choose = min if fit == 'crop' else max
        scale = choose(height / target_h, width / target_w)
        window_h, window_w = round(target_h * scale), round(target_w * scale)
        if fit == 'crop':
            top, left = (height - window_h) // 2, (width - window_w) // 2
            image = image[top:top + window_h, left:left + window_w]
        else:
            top, left = (window_h - height) // 2, (window_w - width) // 2
            image = cv2.copyMakeBorder(image, top, window_h - height - top, left,
                                       window_w - width - left, cv2.BORDER_CONSTANT,
                                       value=(0, 0, 0))
    if image.shape[:2] == (target_h, target_w):
        return image
    shrink = image.shape[0] * image.shape[1] > target_h * target_w
    resized = cv2.resize(np.ascontiguousarray(image), (target_w, target_h),
                         interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    return np.clip(resized, 0, 1)


def prepare_image(image: Any, size: Size, fit: str = 'crop') -> Tensor:
    """Any picture (see :func:`to_float_rgb`) as a ``[1, 3, H, W]`` float
    tensor in [0, 1] of ``size``."""
    array = fit_image(to_float_rgb(image), size, fit)
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)[None]


class DrivingVideo:
    """A driving video as a stream of frames.

    Built by :func:`open_driving`. ``reopenable`` videos (files, folders,
    sequences) can be iterated any number of times and read by index
    (decoding up to that frame, never holding the video); a one-shot
    iterator can be iterated once.

    Args:
        iterate: returns a fresh iterator over the frames.
        num_frames: frame count, None when unknown.
        fps: frame rate.
        path: the file, for audio and messages.
        reopenable: whether ``iterate`` can be called more than once.
        read_frame: random access to frame ``index`` where the source has
            it (default: stream up to the frame).
    """

    def __init__(self, iterate: Callable[[], Iterator[Any]], num_frames: Optional[int],
                 fps: float = DEFAULT_FPS, path: Optional[str] = None,
                 reopenable: bool = True,
                 read_frame: Optional[Callable[[int], Any]] = None) -> None:
        self._iterate = iterate
        self._read_frame = read_frame
        self.num_frames = num_frames
        self.fps = fps
        self.path = path
        self.reopenable = reopenable
        self._iterated = False

    def __iter__(self) -> Iterator[Any]:
        if self._iterated and not self.reopenable:
            raise ValueError('this driving video is a one-shot iterator and was read '
                             'already; pass a path or a sequence of frames to read it again')
        self._iterated = True
        return self._iterate()

    def read(self, index: int) -> Any:
        """Frame ``index`` (random access where possible, else streaming up
        to it; the video is never held whole)."""
        if self.num_frames is not None and not 0 <= index < self.num_frames:
            raise IndexError(f'driving frame {index} does not exist: the video has '
                             f'{self.num_frames} frames')
        if self._read_frame is not None:
            return self._read_frame(index)
        for position, frame in enumerate(self):
            if position == index:
                return frame
        raise IndexError(f'driving frame {index} does not exist')

    def resample(self, fps: float) -> Tuple['DrivingVideo', List[int]]:
        """The frames needed for output at ``fps`` (same duration), and how
        many times each of them is shown: a frame shown 0 times is skipped,
        one shown twice is repeated.

        Output frame ``j`` shows the frame on screen at time ``j / fps``.
        """
        if self.num_frames is None:
            raise ValueError('changing the frame rate needs a driving video of known length')
        repeats = frame_repeats(self.num_frames, self.fps, fps)
        kept = [index for index, count in enumerate(repeats) if count]

        def iterate() -> Iterator[Any]:
            wanted = set(kept)
            return (frame for index, frame in enumerate(self) if index in wanted)

        video = DrivingVideo(iterate, len(kept), fps, self.path, self.reopenable,
                             lambda index: self.read(kept[index]))
        return video, [repeats[index] for index in kept]


def frame_repeats(num_frames: int, fps: float, new_fps: float) -> List[int]:
    """How often each of ``num_frames`` frames at ``fps`` is shown when the
    video is played at ``new_fps`` with its duration kept."""
    if fps <= 0 or new_fps <= 0:
        raise ValueError(f'frame rates must be positive, got {fps} and {new_fps}')
    ratio = Fraction(fps).limit_denominator(1001) / Fraction(new_fps).limit_denominator(1001)
    num_out = max(1, round(num_frames / ratio))
    repeats = [0] * num_frames
    for j in range(num_out):  # output j shows the frame on screen at j / new_fps
        repeats[min(num_frames - 1, int(j * ratio))] += 1
    return repeats


def open_driving(driving: Any) -> DrivingVideo:
    """Wrap any driving input as a :class:`DrivingVideo`.

    Accepts a path (a video in any layout :func:`cpabmm.io.open_video`
    reads but PNG strips, or one image file: a one-frame video), a
    :class:`~cpabmm.io.VideoSource`, an array ``[T, H, W, C]``, a tensor
    ``[T, C, H, W]``, a sequence of frames, or any iterable of frames (read
    once). Frames may be anything :func:`to_float_rgb` accepts.

    Raises:
        VideoError: a missing, unreadable or empty video.
    """
    if is_image_path(driving):
        path = os.fspath(driving)
        load_image(path)  # fail now on an unreadable picture
        return DrivingVideo(lambda: iter([load_image(path)]), 1, DEFAULT_FPS, path,
                            read_frame=lambda index: load_image(path))
    if isinstance(driving, (str, os.PathLike)):
        driving = open_video(os.fspath(driving), convert_channels=True)
    if isinstance(driving, VideoSource):
        check_video(driving, 'quick')
        source = driving
        return DrivingVideo(source.iter_frames, source.num_frames, source.fps, source.path,
                            read_frame=lambda index: source.read([index])[0])
    if isinstance(driving, (np.ndarray, Tensor)):
        if driving.ndim != 4:
            raise ValueError('a driving array must be [T, H, W, C] and a driving tensor '
                             f'[T, C, H, W]; got {driving.ndim} dimensions (for one '
                             'frame, add a leading axis)')
        return _from_sequence(driving)
    if isinstance(driving, Sequence):
        return _from_sequence(driving)
    if isinstance(driving, Iterable):
        return DrivingVideo(lambda: iter(driving), None, reopenable=False)
    raise ValueError(f'cannot use a {type(driving).__name__} as a driving video; pass a '
                     'path, frames or an iterable of frames')


def _from_sequence(frames: Sequence[Any]) -> DrivingVideo:
    if len(frames) == 0:
        raise ValueError('the driving video has no frames')
    return DrivingVideo(lambda: iter(frames), len(frames), read_frame=frames.__getitem__)
