"""Writing videos: :class:`VideoWriter` streams RGB frames into an mp4, mov, mkv or GIF."""
import itertools
import os
import os.path as osp
from contextlib import ExitStack, contextmanager
from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence

import numpy as np

from cpabmm.fileio import WriteError, publish, sync_path, temporary_path

from .audio import AudioCopy, has_audio
from .formats import DEFAULT_FPS, output_extension


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
    the ``with`` block, or a failed :meth:`finish` or :meth:`close`) removes
    it. Nothing is written without frames. A write that fails (a full disk,
    an I/O error) raises :class:`~cpabmm.fileio.WriteError`, ``could not
    write <path>: <reason>``. Use as a context manager::

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
        self._temporary: Optional[str] = None  # the hidden file being written
        self._finished = False

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

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Report an ``OSError`` of the file system as a :class:`WriteError`
        naming ``path`` (not the temporary file)."""
        try:
            yield
        except WriteError:
            raise
        except OSError as error:  # PyAV's errors of the file system are OSErrors too
            raise WriteError(self.path, error) from error

    def write(self, frame: np.ndarray) -> None:
        """Append one ``[H, W, 3]`` RGB ``uint8`` frame."""
        import av
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f'{self.path}: frames must be [H, W, 3] uint8 RGB, '
                             f'got {frame.dtype} {tuple(frame.shape)}')
        if self._finished:
            raise ValueError(f'{self.path}: the video is finished; no frame can be added')
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
        with self._writing():
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
        with self._writing():
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

    def finish(self) -> None:
        """Flush the encoders and complete the temporary file on disk,
        without moving it to ``path`` yet (:meth:`close` does). Writers of
        files that belong together finish them all before closing any, so
        that a full disk leaves none of them published."""
        if self._container is None or self._finished:
            return
        try:
            with self._writing():
                for packet in self._stream.encode():
                    self._container.mux(packet)
                if self._audio is not None:
                    self._audio.finish()
                self._container.close()
                sync_path(self._temporary)
        except BaseException:
            self.abort()
            raise
        self._finished = True

    def close(self) -> None:
        """Finish the file (:meth:`finish`) and move it to ``path``."""
        if self._container is None:
            return
        self.finish()
        try:
            with self._writing():
                publish(self._temporary, self.path)
        except BaseException:
            self.abort()
            raise
        self._container = self._temporary = None

    def abort(self) -> None:
        """Stop writing and remove the unfinished file (``path`` is untouched)."""
        if self._container is not None and not self._finished:
            for resource in (self._audio, self._container):
                if resource is not None:
                    try:
                        resource.close()
                    except Exception:  # already failing: the file is discarded anyway
                        pass
        self._container = None
        if self._temporary is not None and osp.exists(self._temporary):
            os.remove(self._temporary)
        self._temporary = None


def write_video(path: str, frames: Iterable[np.ndarray], fps: float = DEFAULT_FPS,
                **kwargs) -> None:
    """Write ``frames`` to ``path`` (see :class:`VideoWriter` for options)."""
    with VideoWriter(path, fps, **kwargs) as writer:
        for frame in frames:
            writer.write(frame)


def write_videos(paths: Sequence[str], frames: Iterable[Sequence[np.ndarray]],
                 fps: float = DEFAULT_FPS, repeats: Optional[Iterable[int]] = None,
                 progress: Optional[Callable[[int], Any]] = None,
                 **kwargs) -> List[VideoWriter]:
    """Write videos that belong together (a result and its previews), one
    frame of each at a time; all or none of them appear.

    Args:
        paths: one output file per video.
        frames: per time step, one ``[H, W, 3]`` uint8 frame per path;
            consumed one step at a time.
        fps: frame rate of every video.
        repeats: how many times each step is written (e.g.
            :meth:`cpabmm.apis.DrivingVideo.resample`'s counts; default
            once each); writing stops when either runs out.
        progress: called with 1 after each step.
        **kwargs: :class:`VideoWriter` options (``crf``, ``audio_from``...).

    Returns:
        The closed writers (``path``, ``num_frames``, ``copies_audio``).

    Every video is completed on disk before any is renamed into place, so
    an error (raised as it is; a failed write as a
    :class:`~cpabmm.fileio.WriteError`) or an interruption leaves none of
    them, nor a temporary file.
    """
    counts = itertools.repeat(1) if repeats is None else repeats
    with ExitStack() as stack:
        writers = [stack.enter_context(VideoWriter(path, fps, **kwargs)) for path in paths]
        for step, count in zip(frames, counts):
            if len(step) != len(writers):
                raise ValueError(f'expected one frame per video ({len(writers)}), got '
                                 f'{len(step)}')
            for writer, frame in zip(writers, step):
                for _ in range(count):
                    writer.write(frame)
            if progress is not None:
                progress(1)
        for writer in writers:  # all complete on disk before any is published
            writer.finish()
    return writers
