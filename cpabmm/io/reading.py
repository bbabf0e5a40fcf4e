"""Streaming video reading.

Every supported video layout is read through one interface, :func:`open_video`,
which returns a :class:`VideoSource`:

* a **frame folder**: a directory of image files, in natural name order;
* a **container** (``.mp4``, ``.mov``, ``.avi``, ``.mkv``, ``.webm``, ``.gif``),
  decoded with PyAV;
* a **PNG strip**: one image of width ``T * W`` holding ``T`` frames side by side
  (frames are square unless ``strip_frame_width`` says otherwise).

Frames come out as ``[H, W, 3]`` RGB ``uint8`` arrays, or ``float32`` in [0, 1]
from 16-bit image files, scaled by their bit depth (:mod:`cpabmm.io.images`;
:func:`~cpabmm.io.to_unit_float` makes floats of either). Iteration decodes one
frame at a time, so a long video never sits in memory whole (a strip is one image
file and is decoded at once). Problems are reported as :class:`VideoError`, a one-line
``ValueError`` that names the file, the problem and the fix.
"""
import os
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .formats import (DEFAULT_FPS, IMAGE_EXTENSIONS, VideoError, _first_line, natural_key,
                      video_layout)
from .images import check_mode, image_header, read_image


class VideoSource:
    """One video: frame count, frame rate, frame size and streaming access.

    Subclasses implement :meth:`_scan` (metadata) and :meth:`_iter_from`.
    """

    layout = ''

    def __init__(self, path: str, fps: Optional[float] = None,
                 convert_channels: bool = False) -> None:
        self.path = path
        self.convert_channels = convert_channels
        self._fps = fps
        self._num_frames: Optional[int] = None
        self._frame_size: Optional[Tuple[int, int]] = None

    # --- metadata ---------------------------------------------------------
    @property
    def num_frames(self) -> int:
        """Number of frames (from the container or folder, without decoding)."""
        if self._num_frames is None:
            self._scan()
        return self._num_frames

    @property
    def frame_size(self) -> Tuple[int, int]:
        """``(height, width)`` of every frame."""
        if self._frame_size is None:
            self._scan()
        return self._frame_size

    @property
    def fps(self) -> float:
        """Frames per second (``DEFAULT_FPS`` where the layout stores none)."""
        if self._fps is None and self._num_frames is None:
            self._scan()  # containers read their rate with the metadata
        return float(self._fps) if self._fps else DEFAULT_FPS

    def __len__(self) -> int:
        return self.num_frames

    # --- frames -----------------------------------------------------------
    def __iter__(self) -> Iterator[np.ndarray]:
        return self.iter_frames()

    def iter_frames(self, start: int = 0) -> Iterator[np.ndarray]:
        """Yield frames ``start, start + 1, ...`` one at a time."""
        index = start
        for frame in self._iter_from(start):
            yield self._check_size(frame, index)
            index += 1
        if index < self.num_frames:
            raise VideoError(
                self.path, f'truncated video: decoded {index} of {self.num_frames} frames',
                're-encode or remove it')

    def _check_size(self, frame: np.ndarray, index: int) -> np.ndarray:
        height, width = self.frame_size
        if frame.shape[:2] != (height, width):
            raise VideoError(
                self._frame_name(index),
                f'frame {index} is {frame.shape[1]}x{frame.shape[0]} but the '
                f'video is {width}x{height}', 'give all frames one size')
        return frame

    def _check_indices(self, indices: Sequence[int]) -> List[int]:
        indices = [int(i) for i in indices]
        if indices and (min(indices) < 0 or max(indices) >= self.num_frames):
            raise IndexError(f'{self.path}: frame indices must lie in '
                             f'[0, {self.num_frames}), got {indices}')
        return indices

    def read(self, indices: Sequence[int]) -> List[np.ndarray]:
        """Frames at ``indices`` (any order, repeats allowed), decoded in one pass."""
        indices = self._check_indices(indices)
        if not indices:
            return []
        wanted, last = set(indices), max(indices)
        found = {}
        for index, frame in enumerate(self.iter_frames(min(indices)), min(indices)):
            if index in wanted:
                found[index] = frame
            if index == last:
                break
        return [found[i] for i in indices]

    def _frame_name(self, index: int) -> str:
        """The file that holds frame ``index`` (for error messages)."""
        return self.path

    def _scan(self) -> None:
        raise NotImplementedError

    def _iter_from(self, start: int) -> Iterator[np.ndarray]:
        raise NotImplementedError


class FolderSource(VideoSource):
    """A folder of image files, one per frame, in natural name order.

    Hidden files (names starting with ``.``) are ignored; any other file
    that is not an image is an error.
    """

    layout = 'folder'

    def __init__(self, path: str, fps: Optional[float] = None,
                 convert_channels: bool = False) -> None:
        super().__init__(path, fps, convert_channels)
        self._files: Optional[List[str]] = None

    @property
    def files(self) -> List[str]:
        """Frame file paths in order."""
        if self._files is None:
            names = sorted((n for n in os.listdir(self.path) if not n.startswith('.')),
                           key=natural_key)
            for name in names:
                full = osp.join(self.path, name)
                if osp.isdir(full) or osp.splitext(name)[1].lower() not in IMAGE_EXTENSIONS:
                    raise VideoError(full, 'not an image file among the frames',
                                     'remove it from the frame folder')
            self._files = [osp.join(self.path, n) for n in names]
        return self._files

    def _scan(self) -> None:
        self._num_frames = len(self.files)
        if self._num_frames == 0:
            raise VideoError(self.path, 'frame folder holds no frames',
                             'add frames or remove the folder')
        _, self._frame_size = image_header(self.files[0])

    def check_headers(self) -> None:
        """Check every frame's header (mode and size) without decoding pixels."""
        for name in self.files:
            mode, size = image_header(name)
            check_mode(mode, name, self.convert_channels)
            if size != self.frame_size:
                raise VideoError(
                    name, f'frame is {size[1]}x{size[0]} but the first frame is '
                    f'{self.frame_size[1]}x{self.frame_size[0]}', 'give all frames one size')

    def _frame_name(self, index: int) -> str:
        return self.files[index] if index < len(self.files) else self.path

    def read(self, indices: Sequence[int]) -> List[np.ndarray]:
        """Frames at ``indices``, each file read on its own (random access)."""
        return [self._check_size(read_image(self.files[i], self.convert_channels), i)
                for i in self._check_indices(indices)]

    def _iter_from(self, start: int) -> Iterator[np.ndarray]:
        for name in self.files[start:]:
            yield read_image(name, self.convert_channels)


class StripSource(VideoSource):
    """One image holding ``T`` frames side by side (width ``T * frame_width``)."""

    layout = 'strip'

    def __init__(self, path: str, fps: Optional[float] = None,
                 convert_channels: bool = False,
                 frame_width: Optional[int] = None) -> None:
        super().__init__(path, fps, convert_channels)
        self.frame_width = frame_width
        self._strip: Optional[np.ndarray] = None

    def _scan(self) -> None:
        mode, (height, width) = image_header(self.path)
        frame_width = self.frame_width or height
        if width % frame_width:
            raise VideoError(
                self.path, f'strip width {width} is not a multiple of the frame '
                f'width {frame_width}', 'set strip_frame_width to the width of one frame')
        self._num_frames = width // frame_width
        self._frame_size = (height, frame_width)

    def _iter_from(self, start: int) -> Iterator[np.ndarray]:
        if self._strip is None:
            self._strip = read_image(self.path, self.convert_channels)
        height, width = self.frame_size
        for index in range(start, self.num_frames):
            yield self._strip[:, index * width:(index + 1) * width]


class ContainerSource(VideoSource):
    """A video file decoded with PyAV (mp4, mov, avi, mkv, webm, gif)."""

    layout = 'container'

    def _open(self):
        import av
        try:
            container = av.open(self.path)
        except (av.FFmpegError, OSError, UnicodeDecodeError) as err:
            raise VideoError(self.path, f'unreadable video ({_first_line(err)})',
                             're-encode or remove it') from None
        if not container.streams.video:
            container.close()
            raise VideoError(self.path, 'no video frames', 're-encode or remove it')
        return container

    def _scan(self) -> None:
        import av
        container = self._open()
        try:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            if self._fps is None and rate:
                self._fps = float(rate)
            self._frame_size = (stream.codec_context.height, stream.codec_context.width)
            count = stream.frames
            if count <= 0:
                try:
                    count = sum(1 for packet in container.demux(stream) if packet.size)
                except av.FFmpegError as err:
                    raise VideoError(self.path, f'unreadable video ({_first_line(err)})',
                                     're-encode or remove it') from None
        finally:
            container.close()
        if count == 0 or self._frame_size[0] == 0:
            raise VideoError(self.path, 'no video frames', 're-encode or remove it')
        self._num_frames = count

    def _iter_from(self, start: int) -> Iterator[np.ndarray]:
        import av
        container = self._open()
        index = 0
        try:
            stream = container.streams.video[0]
            stream.thread_type = 'AUTO'
            try:
                for frame in container.decode(stream):
                    if index >= start:
                        yield frame.to_ndarray(format='rgb24')
                    index += 1
            except av.FFmpegError as err:
                raise VideoError(
                    self.path, f'decoding failed after frame {index} '
                    f'({_first_line(err)})', 're-encode or remove it') from None
        finally:
            container.close()


def open_video(path: str, fps: Optional[float] = None, convert_channels: bool = False,
               strip_frame_width: Optional[int] = None) -> VideoSource:
    """Open a video in any supported layout (nothing is decoded yet).

    Args:
        path: frame folder, container file or PNG strip.
        fps: frame rate to report; containers default to their own rate,
            folders and strips to ``DEFAULT_FPS``.
        convert_channels: turn grayscale or RGBA frames into RGB instead of
            raising :class:`VideoError`.
        strip_frame_width: width of one frame in a PNG strip (default: the
            strip's height, i.e. square frames).
    """
    layout = video_layout(path)
    if layout == 'folder':
        return FolderSource(path, fps, convert_channels)
    if layout == 'strip':
        return StripSource(path, fps, convert_channels, strip_frame_width)
    return ContainerSource(path, fps, convert_channels)


CHECK_LEVELS = ('metadata', 'quick', 'full')


def check_video(source: VideoSource, level: str = 'quick', min_frames: int = 1) -> None:
    """Raise :class:`VideoError` if ``source`` is unusable.

    Levels: ``'metadata'`` reads the frame count and size only (no decoding);
    ``'quick'`` also decodes the first frame; ``'full'`` checks every frame
    header of a folder and decodes every frame of a container or strip
    (catching truncation, mixed sizes and bad channels anywhere).
    """
    if level not in CHECK_LEVELS:
        raise ValueError(f'check level must be one of {CHECK_LEVELS}, got {level!r}')
    if source.num_frames < min_frames:
        raise VideoError(
            source.path, f'video has {source.num_frames} frame(s), '
            f'at least {min_frames} needed', 'remove it or add frames')
    if level == 'metadata':
        return
    if isinstance(source, FolderSource):
        if level == 'full':
            source.check_headers()
        else:
            read_image(source.files[0], source.convert_channels)
        return
    frames = source.iter_frames()
    for _ in frames:
        if level == 'quick':
            frames.close()  # the first frame decoded: enough for a quick check
            break
