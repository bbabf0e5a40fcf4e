"""Streaming video reading and writing.

Every supported video layout is read through one interface, :func:`open_video`,
which returns a :class:`VideoSource`:

* a **frame folder**: a directory of image files, in natural name order;
* a **container** (``.mp4``, ``.mov``, ``.avi``, ``.mkv``, ``.webm``, ``.gif``),
  decoded with PyAV;
* a **PNG strip**: one image of width ``T * W`` holding ``T`` frames side by side
  (frames are square unless ``strip_frame_width`` says otherwise).

Frames come out as ``[H, W, 3]`` RGB ``uint8`` arrays. Iteration decodes one frame
at a time, so a long video never sits in memory whole (a strip is one image file
and is decoded at once). Problems are reported as :class:`VideoError`, a one-line
``ValueError`` that names the file, the problem and the fix.
"""
import os
import os.path as osp
import re
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

CONTAINER_EXTENSIONS = ('.mp4', '.mov', '.avi', '.mkv', '.webm', '.gif')
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff')
DEFAULT_FPS = 25.0

# PIL modes that hold colour and convert to RGB without losing information.
_COLOUR_MODES = ('RGB', 'P', 'CMYK', 'YCbCr', 'LAB', 'HSV')
_ALPHA_MODES = ('RGBA', 'RGBa', 'PA')
_GRAY_MODES = ('L', 'LA', 'La', '1', 'I', 'I;16', 'I;16B', 'I;16L', 'F')


class VideoError(ValueError):
    """A video (or one of its frames) cannot be used; the message names the file."""

    def __init__(self, path: str, problem: str, fix: str = '') -> None:
        self.path = path
        self.problem = problem
        message = f'{path}: {problem}'
        super().__init__(f'{message}; {fix}' if fix else message)


def natural_key(name: str) -> list:
    """Sort key that orders ``frame2.png`` before ``frame10.png``."""
    return [int(part) if part.isdigit() else part.lower()
            for part in re.split(r'(\d+)', name)]


def video_layout(path: str) -> str:
    """``'folder'``, ``'container'`` or ``'strip'`` for ``path``.

    Raises:
        VideoError: if the path does not exist or has an unsupported type.
    """
    if osp.isdir(path):
        return 'folder'
    if not osp.exists(path):
        raise VideoError(path, 'no such file or folder', 'check the path')
    ext = osp.splitext(path)[1].lower()
    if ext in CONTAINER_EXTENSIONS:
        return 'container'
    if ext in IMAGE_EXTENSIONS:
        return 'strip'
    raise VideoError(
        path, f'unsupported video type {ext or "(no extension)"!r}',
        f'use a frame folder, a PNG strip or one of {", ".join(CONTAINER_EXTENSIONS)}')


def is_video_path(path: str) -> bool:
    """Whether ``path`` looks like a video in a supported layout."""
    try:
        video_layout(path)
    except VideoError:
        return False
    return True


def check_mode(mode: str, path: str, convert_channels: bool) -> None:
    """Raise :class:`VideoError` for a PIL image mode that is not colour.

    Grayscale and alpha modes pass when ``convert_channels`` is set.
    """
    if mode in _COLOUR_MODES:
        return
    if mode in _ALPHA_MODES or mode in _GRAY_MODES:
        if not convert_channels:
            kind = 'has an alpha channel' if mode in _ALPHA_MODES else 'is grayscale'
            raise VideoError(path, f'frame {kind} (PIL mode {mode!r})',
                             'save frames as RGB or set convert_channels=True')
        return
    raise VideoError(path, f'unsupported image mode {mode!r}', 'save frames as RGB')


def _pil_to_rgb(image, path: str, convert_channels: bool) -> np.ndarray:
    """An opened PIL image as an RGB ``uint8`` array, checking its channels."""
    check_mode(image.mode, path, convert_channels)
    if image.mode == 'RGB':
        return np.asarray(image)
    if image.mode.startswith('I') or image.mode == 'F':
        array = np.asarray(image, dtype=np.float64)
        scale = 65535.0 if array.max(initial=0) > 255 else 255.0
        gray = np.clip(array / scale * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    return np.asarray(image.convert('RGB'))


def read_image(path: str, convert_channels: bool = False) -> np.ndarray:
    """Read one image file as ``[H, W, 3]`` RGB ``uint8``.

    Args:
        path: the image file.
        convert_channels: replicate grayscale and drop alpha instead of
            raising :class:`VideoError`.
    """
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as image:
            image.load()
            return _pil_to_rgb(image, path, convert_channels)
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise VideoError(path, f'not a readable image ({_first_line(err)})',
                         'replace or remove the file') from None


def image_header(path: str) -> Tuple[str, Tuple[int, int]]:
    """PIL mode and ``(height, width)`` of an image file, reading its header only."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as image:
            return image.mode, (image.height, image.width)
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise VideoError(path, f'not a readable image ({_first_line(err)})',
                         'replace or remove the file') from None


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


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


class VideoWriter:
    """Write RGB ``uint8`` frames to a container file with PyAV.

    Use as a context manager::

        with VideoWriter('out.mp4', fps=25) as writer:
            for frame in frames:
                writer.write(frame)
    """

    def __init__(self, path: str, fps: float = DEFAULT_FPS, codec: str = 'libx264',
                 crf: int = 18, pix_fmt: str = 'yuv420p') -> None:
        self.path = path
        self.fps = fps
        self.codec = codec
        self.options = {'crf': str(crf)} if codec == 'libx264' else {}
        self.pix_fmt = pix_fmt
        self._container = None
        self._stream = None

    def __enter__(self) -> 'VideoWriter':
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def write(self, frame: np.ndarray) -> None:
        """Append one ``[H, W, 3]`` RGB ``uint8`` frame."""
        import av
        from fractions import Fraction
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f'{self.path}: frames must be [H, W, 3] uint8 RGB, '
                             f'got {frame.dtype} {tuple(frame.shape)}')
        if self._container is None:
            height, width = frame.shape[:2]
            if self.pix_fmt == 'yuv420p' and (height % 2 or width % 2):
                raise ValueError(f'{self.path}: {width}x{height} frames cannot be '
                                 'encoded as yuv420p; use even width and height')
            os.makedirs(osp.dirname(osp.abspath(self.path)), exist_ok=True)
            self._container = av.open(self.path, mode='w')
            rate = Fraction(self.fps).limit_denominator(1001)
            self._stream = self._container.add_stream(self.codec, rate=rate,
                                                      options=self.options)
            self._stream.width, self._stream.height = width, height
            self._stream.pix_fmt = self.pix_fmt
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format='rgb24')
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)

    def close(self) -> None:
        """Flush the encoder and close the file."""
        if self._container is None:
            return
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        self._container = None


def write_video(path: str, frames: Iterable[np.ndarray], fps: float = DEFAULT_FPS,
                **kwargs) -> None:
    """Write ``frames`` to ``path`` (see :class:`VideoWriter` for options)."""
    with VideoWriter(path, fps, **kwargs) as writer:
        for frame in frames:
            writer.write(frame)
