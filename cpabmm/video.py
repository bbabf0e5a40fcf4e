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

from cpabmm.fileio import publish, temporary_path

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


def pil_to_rgb(image, path: str, convert_channels: bool,
               alpha_background: Optional[Sequence[int]] = None) -> np.ndarray:
    """An opened PIL image as an RGB ``uint8`` array, checking its channels."""
    check_mode(image.mode, path, convert_channels)
    if image.mode == 'RGB':
        return np.asarray(image)
    if image.mode.startswith('I') or image.mode == 'F':
        array = np.asarray(image, dtype=np.float64)
        scale = 65535.0 if array.max(initial=0) > 255 else 255.0
        gray = np.clip(array / scale * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if alpha_background is not None and (image.mode in _ALPHA_MODES
                                         or 'transparency' in image.info):
        from PIL import Image
        background = Image.new('RGBA', image.size, tuple(alpha_background) + (255,))
        return np.asarray(Image.alpha_composite(background, image.convert('RGBA'))
                          .convert('RGB'))
    return np.asarray(image.convert('RGB'))


def read_image(path: str, convert_channels: bool = False,
               alpha_background: Optional[Sequence[int]] = None,
               exif_transpose: bool = False) -> np.ndarray:
    """Read one image file as ``[H, W, 3]`` RGB ``uint8``.

    Args:
        path: the image file.
        convert_channels: replicate grayscale and drop alpha instead of
            raising :class:`VideoError`.
        alpha_background: with ``convert_channels``, an RGB colour to
            composite transparent images over instead of dropping alpha.
        exif_transpose: turn the image upright as its EXIF orientation says
            (photos from phones and cameras).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError
    try:
        with Image.open(path) as image:
            image.load()
            if exif_transpose:
                image = ImageOps.exif_transpose(image)
            return pil_to_rgb(image, path, convert_channels, alpha_background)
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


# --- writing -------------------------------------------------------------------

#: output containers :class:`VideoWriter` writes (GIF without audio)
WRITE_EXTENSIONS = ('.mp4', '.mov', '.mkv', '.gif')
#: audio codecs mp4/mov files carry as they are; other audio is re-encoded to AAC
_MP4_AUDIO_CODECS = ('aac', 'mp3', 'alac', 'ac3')


def output_extension(path: str) -> str:
    """The lower-case extension of an output video path.

    Raises:
        VideoError: if :class:`VideoWriter` cannot write that type.
    """
    ext = osp.splitext(path)[1].lower()
    if ext not in WRITE_EXTENSIONS:
        raise VideoError(path, f'cannot write video type {ext or "(no extension)"!r}',
                         f'use one of {", ".join(WRITE_EXTENSIONS)}')
    return ext


def has_audio(path: str) -> bool:
    """Whether ``path`` is a container file with an audio stream."""
    if osp.isdir(path) or osp.splitext(path)[1].lower() not in CONTAINER_EXTENSIONS:
        return False
    import av
    try:
        with av.open(path) as container:
            return bool(container.streams.audio)
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        return False


class AudioCopy:
    """Copy the first audio stream of ``path`` into an output container while
    its video is being written, packet by packet.

    Audio an mp4/mov can hold (and anything, into mkv) is remuxed untouched;
    other audio is decoded and re-encoded to AAC. Call :meth:`copy_until`
    after each video frame so that the muxer interleaves the two streams,
    and :meth:`finish` after the last one.
    """

    def __init__(self, path: str, output, extension: str) -> None:
        import av
        self.path = path
        self._output = output
        self._input = av.open(path)
        source = self._input.streams.audio[0]
        self._resampler = None
        if extension == '.mkv' or source.codec_context.name in _MP4_AUDIO_CODECS:
            self._stream = output.add_stream_from_template(source)
        else:
            layout = 'mono' if len(source.layout.channels) == 1 else 'stereo'
            self._stream = output.add_stream('aac', rate=source.rate, layout=layout)
            self._resampler = av.AudioResampler(format=self._stream.format.name,
                                                layout=layout, rate=source.rate,
                                                frame_size=1024)
        self._packets = self._input.demux(source)

    @property
    def reencodes(self) -> bool:
        """Whether the audio is re-encoded (True) or remuxed (False)."""
        return self._resampler is not None

    def copy_until(self, seconds: float) -> None:
        """Copy packets up to the first one that starts at ``seconds`` or later."""
        import av
        try:
            for packet in self._packets:
                if packet.dts is None:  # the demuxer's final empty packet
                    continue
                self._copy(packet)
                if packet.pts is not None and packet.pts * packet.time_base >= seconds:
                    return
        except av.FFmpegError as err:
            raise VideoError(self.path, f'its audio cannot be copied ({_first_line(err)})',
                             're-encode its audio or remove it') from None

    def _copy(self, packet) -> None:
        if self._resampler is None:
            packet.stream = self._stream
            self._output.mux(packet)
            return
        for frame in packet.decode():
            self._encode(frame)

    def _encode(self, frame) -> None:
        for resampled in self._resampler.resample(frame):
            for packet in self._stream.encode(resampled):
                self._output.mux(packet)

    def finish(self) -> None:
        """Copy the remaining audio and flush the encoder."""
        self.copy_until(float('inf'))
        if self._resampler is not None:
            self._encode(None)
            for packet in self._stream.encode(None):
                self._output.mux(packet)
        self.close()

    def close(self) -> None:
        self._input.close()


def _palette_frame(frame: np.ndarray):
    """An RGB frame as a PyAV ``pal8`` frame with its own 256-colour palette."""
    import av
    from PIL import Image
    image = Image.fromarray(frame).quantize(256)
    palette = np.zeros((256, 4), np.uint8)
    colours = np.asarray(image.getpalette()[:768], np.uint8).reshape(-1, 3)
    palette[:, 0] = 255  # PyAV takes ARGB
    palette[:len(colours), 1:] = colours
    return av.VideoFrame.from_ndarray((np.asarray(image), palette), format='pal8')


class VideoWriter:
    """Write RGB ``uint8`` frames to an mp4, mov, mkv or GIF file with PyAV.

    The file appears only when writing succeeds: frames go to a hidden
    temporary file in the destination folder (created if missing), which
    :meth:`close` renames to ``path``; :meth:`abort` (or an exception inside
    the ``with`` block) removes it. Nothing is written without frames.
    Use as a context manager::

        with VideoWriter('out.mp4', fps=25, audio_from='driving.mp4') as writer:
            for frame in frames:
                writer.write(frame)

    Args:
        path: output file; its extension picks the container
            (``WRITE_EXTENSIONS``).
        fps: frame rate.
        codec: video codec; default ``libx264`` (``gif`` for GIFs).
        crf: libx264 quality (0 lossless, 18 visually lossless, 23 default).
        pix_fmt: pixel format; default ``yuv420p`` (``pal8`` for GIFs, one
            palette per frame).
        audio_from: a video whose audio to copy into the output (ignored
            when it has none; GIFs hold no audio, which is logged).
    """

    def __init__(self, path: str, fps: float = DEFAULT_FPS, codec: Optional[str] = None,
                 crf: int = 18, pix_fmt: Optional[str] = None,
                 audio_from: Optional[str] = None) -> None:
        self.path = path
        self.extension = output_extension(path)
        gif = self.extension == '.gif'
        self.fps = fps
        self.codec = codec or ('gif' if gif else 'libx264')
        self.options = {'crf': str(crf)} if self.codec == 'libx264' else {}
        self.pix_fmt = pix_fmt or ('pal8' if gif else 'yuv420p')
        self.audio_from = audio_from
        self.num_frames = 0
        self._container = None
        self._stream = None
        self._audio: Optional[AudioCopy] = None
        self._temporary: Optional[str] = None

    def __enter__(self) -> 'VideoWriter':
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    @property
    def copies_audio(self) -> bool:
        """Whether audio is being copied (known after the first frame)."""
        return self._audio is not None

    def write(self, frame: np.ndarray) -> None:
        """Append one ``[H, W, 3]`` RGB ``uint8`` frame."""
        import av
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f'{self.path}: frames must be [H, W, 3] uint8 RGB, '
                             f'got {frame.dtype} {tuple(frame.shape)}')
        if self._container is None:
            self._open(*frame.shape[:2])
        elif frame.shape[:2] != (self._stream.height, self._stream.width):
            raise ValueError(f'{self.path}: frame {self.num_frames} is {frame.shape[1]}x'
                             f'{frame.shape[0]}, the video {self._stream.width}x'
                             f'{self._stream.height}; give all frames one size')
        frame = np.ascontiguousarray(frame)
        if self.pix_fmt == 'pal8':
            video_frame = _palette_frame(frame)
        else:
            video_frame = av.VideoFrame.from_ndarray(frame, format='rgb24')
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)
        self.num_frames += 1
        if self._audio is not None:
            self._audio.copy_until(self.num_frames / self.fps)

    def _open(self, height: int, width: int) -> None:
        import av
        from fractions import Fraction
        if self.pix_fmt == 'yuv420p' and (height % 2 or width % 2):
            raise ValueError(f'{self.path}: {width}x{height} frames cannot be '
                             'encoded as yuv420p; use even width and height')
        self._temporary = temporary_path(self.path, suffix=self.extension)
        options = {'movflags': '+faststart'} if self.extension in ('.mp4', '.mov') else {}
        self._container = av.open(self._temporary, mode='w', options=options)
        rate = Fraction(self.fps).limit_denominator(1001)
        self._stream = self._container.add_stream(self.codec, rate=rate, options=self.options)
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = self.pix_fmt
        if self.audio_from is not None and has_audio(self.audio_from):
            if self.extension == '.gif':
                from mmengine.logging import print_log
                print_log(f'{self.path}: GIF files hold no audio; the audio of '
                          f'{self.audio_from} is not copied', logger='current')
            else:
                self._audio = AudioCopy(self.audio_from, self._container, self.extension)

    def close(self) -> None:
        """Flush the encoders, finish the file and move it to ``path``."""
        if self._container is None:
            return
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            if self._audio is not None:
                self._audio.finish()
            self._container.close()
        except BaseException:
            self.abort()
            raise
        self._container = None
        publish(self._temporary, self.path)

    def abort(self) -> None:
        """Stop writing and remove the unfinished file (``path`` is untouched)."""
        if self._container is None:
            return
        for resource in (self._audio, self._container):
            if resource is not None:
                try:
                    resource.close()
                except Exception:  # already failing: the file is discarded anyway
                    pass
        self._container = None
        if osp.exists(self._temporary):
            os.remove(self._temporary)


def write_video(path: str, frames: Iterable[np.ndarray], fps: float = DEFAULT_FPS,
                **kwargs) -> None:
    """Write ``frames`` to ``path`` (see :class:`VideoWriter` for options)."""
    with VideoWriter(path, fps, **kwargs) as writer:
        for frame in frames:
            writer.write(frame)
