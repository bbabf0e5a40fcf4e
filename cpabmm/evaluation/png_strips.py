"""PNG strips in pose-evaluation's layout: one image per video, its frames
side by side from left to right (``H x (T * W)``).

pose-evaluation's ``extract.py --is_video`` reads such strips from two
folders (real and generated) with equal file names. Frames are buffered on
disk while a video streams in, and each strip is encoded row by row, so
memory does not grow with the length of a video.
"""
from __future__ import annotations

import os
import os.path as osp
import re
import shutil
import struct
import tempfile
import zlib
from typing import Any, BinaryIO, Dict, Iterable, Mapping, Optional, Tuple

import numpy as np

from cpabmm.visualization import to_uint8
from .outputs import atomic_write
from .samples import find, get_image, get_video_id

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
IDAT_BYTES = 1 << 20


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', crc)


def write_png_rows(file: BinaryIO, width: int, height: int,
                   rows: Iterable[np.ndarray], level: int = 6) -> None:
    """Encode an 8-bit RGB PNG from ``height`` rows of ``width * 3`` uint8
    values, one row in memory at a time (PNG "Up" filter)."""
    file.write(PNG_SIGNATURE)
    file.write(_png_chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)))
    compressor = zlib.compressobj(level)
    pending = bytearray()
    previous = np.zeros(width * 3, dtype=np.uint8)
    count = 0
    for row in rows:
        row = np.ascontiguousarray(row, dtype=np.uint8).reshape(-1)
        if row.size != width * 3:
            raise ValueError(f'PNG row {count} has {row.size} values, expected {width * 3}')
        pending += compressor.compress(b'\x02' + (row - previous).tobytes())
        previous = row
        count += 1
        if len(pending) >= IDAT_BYTES:
            file.write(_png_chunk(b'IDAT', bytes(pending)))
            pending.clear()
    if count != height:
        raise ValueError(f'PNG got {count} rows, expected {height}')
    pending += compressor.flush()
    file.write(_png_chunk(b'IDAT', bytes(pending)))
    file.write(_png_chunk(b'IEND', b''))


def strip_file_name(video_id: str) -> str:
    """``<video_id>.png`` with path separators and unusual characters
    replaced by ``_``."""
    return re.sub(r'[^\w.#@+=-]', '_', video_id) + '.png'


class PNGStripWriter:
    """Write one PNG strip per video and field as frames stream in.

    Frames of a video must arrive together and in order of their
    ``driving_index`` (as a test loop over a video dataset delivers them); a video is written when the next video
    starts and at :meth:`close`. Use it as a context manager: on an error the
    unfinished video is dropped and no partial file remains.

    Args:
        out_dir: the folder the strips go to.
        folders: ``{data sample field: sub-folder}``; by default the
            generated frames go to ``generated/`` and the real ones to
            ``real/`` under the same file names.
    """

    def __init__(self, out_dir: str,
                 folders: Optional[Mapping[str, str]] = None) -> None:
        self.out_dir = out_dir
        self.folders = dict(folders or {'prediction': 'generated', 'driving': 'real'})
        for folder in self.folders.values():
            os.makedirs(osp.join(out_dir, folder), exist_ok=True)
        self._buffer_dir = tempfile.mkdtemp(prefix='.strips-', dir=out_dir)
        self._video: Optional[str] = None
        self._frames = 0
        self._frame_shape: Optional[Tuple[int, ...]] = None
        self._buffers: Dict[str, BinaryIO] = {}
        self._done: set = set()

    def add(self, sample: Mapping[str, Any]) -> None:
        """Append one driven frame (a data sample) to its video's strips."""
        video_id = get_video_id(sample, type(self).__name__)
        if video_id != self._video:
            self._finish_video()
            if video_id in self._done:
                raise ValueError(
                    f'PNG strips: frames of video {video_id!r} arrived after '
                    'another video; each video must be streamed in one piece')
            self._start_video(video_id)
        index = find(sample, 'driving_index', from_dataset=True, default=self._frames)
        if int(index) != self._frames:
            raise ValueError(
                f'PNG strips: video {video_id!r} driving_index {int(index)} '
                f'arrived after {self._frames} frames; frames must come in order')
        for field, buffer in self._buffers.items():
            frame = to_uint8(get_image(sample, field, type(self).__name__))
            if self._frame_shape is None:
                self._frame_shape = frame.shape
            elif frame.shape != self._frame_shape:
                raise ValueError(
                    f'PNG strips: video {video_id!r} mixes frame sizes '
                    f'{self._frame_shape[:2]} and {frame.shape[:2]}')
            buffer.write(frame.tobytes())
        self._frames += 1

    def _start_video(self, video_id: str) -> None:
        self._video, self._frames, self._frame_shape = video_id, 0, None
        self._buffers = {
            field: open(osp.join(self._buffer_dir, f'{index}.raw'), 'w+b')
            for index, field in enumerate(self.folders)
        }

    def _finish_video(self) -> None:
        if self._video is None:
            return
        name = strip_file_name(self._video)
        for field, buffer in self._buffers.items():
            buffer.flush()
            if self._frames:
                frames = np.memmap(buffer, dtype=np.uint8, mode='r',
                                   shape=(self._frames, *self._frame_shape))
                height, width = self._frame_shape[:2]
                path = osp.join(self.out_dir, self.folders[field], name)
                with atomic_write(path, 'wb') as file:
                    write_png_rows(file, width * self._frames, height,
                                   (frames[:, y] for y in range(height)))
                del frames
            buffer.close()
        self._done.add(self._video)
        self._video, self._buffers = None, {}

    def close(self) -> None:
        """Write the last video and remove the frame buffers."""
        try:
            self._finish_video()
        finally:
            self._discard()

    def _discard(self) -> None:
        for buffer in self._buffers.values():
            buffer.close()
        self._buffers, self._video = {}, None
        shutil.rmtree(self._buffer_dir, ignore_errors=True)

    def __enter__(self) -> 'PNGStripWriter':
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.close()
        else:
            self._discard()
