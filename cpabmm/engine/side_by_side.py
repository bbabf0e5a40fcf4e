"""Side-by-side videos (source | driving | prediction) of the best and worst
test videos."""
from __future__ import annotations

import os
import os.path as osp
import shutil
import tempfile
from typing import Any, Dict, List, Mapping, Optional

from cpabmm.evaluation import rank_videos
from cpabmm.evaluation.png_strips import strip_file_name
from cpabmm.evaluation.samples import get_image, get_video_id
from cpabmm.io import DEFAULT_FPS, VideoWriter
from cpabmm.visualization import side_by_side, to_uint8

PANELS = ('source', 'driving', 'prediction')


def video_file_stem(video_id: str) -> str:
    """``video_id`` made safe as a file name."""
    return osp.splitext(strip_file_name(video_id))[0]


class SideBySideRecorder:
    """Record every test video as it streams in, keep the best and worst.

    Each driven frame becomes one frame ``source | driving | prediction``;
    the frames of a video must arrive together and in order, as a
    single-process test loop delivers them. Every video is encoded into a
    hidden folder; :meth:`finish` keeps the ``count`` best and worst by a
    metric as ``best_<k>_<video>.mp4`` and ``worst_<k>_<video>.mp4`` and
    removes the rest. Used as a context manager, an error leaves no file
    behind; finished files are renamed into place whole.

    Args:
        out_dir: the folder the kept videos go to.
        count: how many best and how many worst videos to keep.
        fps: frame rate of the videos.
    """

    def __init__(self, out_dir: str, count: int, fps: float = DEFAULT_FPS) -> None:
        if count < 1:
            raise ValueError(f'side-by-side video count must be at least 1, got {count}')
        self.out_dir = out_dir
        self.count = count
        self.fps = fps
        os.makedirs(out_dir, exist_ok=True)
        self._pending_dir = tempfile.mkdtemp(prefix='.side-by-side-', dir=out_dir)
        self._pending: Dict[str, str] = {}
        self._video: Optional[str] = None
        self._writer: Optional[VideoWriter] = None

    def add(self, sample: Mapping[str, Any]) -> None:
        """Append one driven frame (a data sample of the test step)."""
        video_id = get_video_id(sample, type(self).__name__)
        if video_id != self._video:
            self._close_writer()
            if video_id in self._pending:
                raise ValueError(
                    f'side-by-side videos: frames of {video_id!r} arrived after '
                    'another video; each video must be streamed in one piece')
            path = osp.join(self._pending_dir, f'{len(self._pending)}.mp4')
            self._pending[video_id] = path
            self._video, self._writer = video_id, VideoWriter(path, fps=self.fps)
        panels = [to_uint8(get_image(sample, key, type(self).__name__)) for key in PANELS]
        self._writer.write(side_by_side(panels))

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._video, self._writer = None, None

    def finish(self, per_video: Mapping[str, Mapping[str, Any]], metric: str) -> List[str]:
        """Keep the best and worst videos by ``metric`` (see
        :func:`cpabmm.evaluation.rank_videos`); returns their paths."""
        self._close_writer()
        ranking = rank_videos(
            {k: v for k, v in per_video.items() if k in self._pending}, metric, self.count)
        kept = []
        for kind, video_ids in (('best', ranking.best), ('worst', ranking.worst)):
            for place, video_id in enumerate(video_ids, start=1):
                path = osp.join(self.out_dir, f'{kind}_{place}_{video_file_stem(video_id)}.mp4')
                staged = f'{self._pending[video_id]}.{kind}{place}'
                shutil.copyfile(self._pending[video_id], staged)
                os.replace(staged, path)
                kept.append(path)
        self._discard()
        return kept

    def _discard(self) -> None:
        self._close_writer()
        shutil.rmtree(self._pending_dir, ignore_errors=True)

    def __enter__(self) -> 'SideBySideRecorder':
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self._discard()
