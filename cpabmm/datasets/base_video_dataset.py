"""Shared machinery of the file-based video datasets.

Test items follow the reconstruction protocol one frame at a time: the data
list holds one entry per *(sequence, driving frame)*, in order, and each item
carries the sequence's source frame and one driving frame. Consecutive items
of a sequence reuse one open decoder (:class:`FrameCursor`), so a long video is
never held in memory whole, and MMEngine's ordinary test loop, batching and
metrics work unchanged: a metric groups frames by ``video_id`` and knows a
sequence has ended when ``driving_index == num_frames - 1``.
"""
import copy
from typing import Dict, List, Optional, Tuple

import numpy as np
from mmengine.dataset import BaseDataset

from cpabmm.io import VideoSource, open_video

from .transforms import build_pipeline
from .video_index import BadVideoLog, list_split, scan_videos


class FrameCursor:
    """Frames of one video at a time, read in increasing order without re-decoding.

    Asking for an earlier frame or another video reopens the decoder. The
    most recently read source frame is kept as well, since every item of a
    sequence needs it.
    """

    def __init__(self, reader_cfg: dict) -> None:
        self.reader_cfg = reader_cfg
        self._path: Optional[str] = None
        self._frames = None
        self._next = 0
        self._last: Optional[Tuple[int, np.ndarray]] = None
        self._still: Optional[Tuple[str, int, np.ndarray]] = None

    def frame(self, path: str, index: int) -> np.ndarray:
        """Frame ``index`` of the video at ``path``, streaming forward."""
        if self._last is not None and path == self._path and self._last[0] == index:
            return self._last[1]
        if path != self._path or index < self._next:
            if self._frames is not None:
                self._frames.close()  # release the previous decoder now
            self._path = path
            self._frames = open_video(path, **self.reader_cfg).iter_frames(index)
            self._next = index
        frame = None
        while self._next <= index:
            frame = next(self._frames)
            self._next += 1
        self._last = (index, frame)
        return frame

    def still(self, path: str, index: int) -> np.ndarray:
        """Frame ``index`` of ``path`` read on its own and kept for reuse."""
        if self._still is None or self._still[:2] != (path, index):
            frame = open_video(path, **self.reader_cfg).read([index])[0]
            self._still = (path, index, frame)
        return self._still[2]


class VideoDatasetBase(BaseDataset):
    """Base of datasets that read videos from a root with ``train/`` and ``test/``.

    Args:
        data_root: dataset root.
        split: ``'train'`` or ``'test'``.
        test_fraction: without split folders, the share of videos in the test
            split (chosen by a hash of the video name).
        split_seed: seed of that hash split.
        on_bad_video: ``'error'`` raises a one-line error naming the file;
            ``'skip'`` leaves the video out and logs a counted warning.
        check: how much of every video to check when the dataset is built:
            ``'metadata'`` (frame count and size, fastest for large sets),
            ``'quick'`` (also decode the first frame) or ``'full'`` (every
            frame; slow). Problems not checked for surface, named, when a
            frame is read.
        min_frames: videos with fewer frames are bad input.
        convert_channels: accept grayscale and RGBA frames by converting them.
        strip_frame_width: frame width of PNG strips (default: square frames).
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments
            (``pipeline``, ``test_mode``, ``serialize_data``, ...).
    """

    def __init__(self, data_root: str, split: str = 'train',
                 test_fraction: Optional[float] = None, split_seed: int = 0,
                 on_bad_video: str = 'error', check: str = 'quick',
                 min_frames: int = 2, convert_channels: bool = False,
                 strip_frame_width: Optional[int] = None, **kwargs) -> None:
        self.split = split
        self.test_fraction = test_fraction
        self.split_seed = split_seed
        self.check = check
        self.min_frames = min_frames
        self.bad_videos = BadVideoLog(on_bad_video)
        self.reader_cfg = dict(convert_channels=convert_channels,
                               strip_frame_width=strip_frame_width)
        self.cursor = FrameCursor(self.reader_cfg)
        kwargs['pipeline'] = build_pipeline(kwargs.get('pipeline', ()))
        super().__init__(data_root=data_root, **kwargs)

    def scan_split(self) -> List[dict]:
        """Records (path, name, identity, frame count, size) of the split's videos."""
        paths = list_split(self.data_root, self.split, self.test_fraction,
                           self.split_seed, self.bad_videos)
        return scan_videos(paths, self.reader_cfg, self.bad_videos,
                           self.min_frames, self.check)

    def open(self, record: Dict) -> VideoSource:
        """Open the video of a record."""
        return open_video(record['video_path'], **self.reader_cfg)

    @staticmethod
    def sequence_entries(source: dict, driving: dict, source_index: int = 0,
                         max_frames: Optional[int] = None, **meta) -> List[dict]:
        """One entry per driving frame of ``driving``, all with one source frame."""
        count = driving['num_frames']
        if max_frames is not None:
            count = min(count, max_frames)
        return [dict(source_path=source['video_path'], source_index=source_index,
                     driving_path=driving['video_path'], driving_index=index,
                     num_frames=count, **meta) for index in range(count)]

    def load_sequence_item(self, info: dict) -> dict:
        """Source and driving frames of one sequence entry (streamed)."""
        results = copy.deepcopy(info)
        results['source'] = self.cursor.still(info['source_path'], info['source_index'])
        results['driving'] = self.cursor.frame(info['driving_path'], info['driving_index'])
        return results
