"""Finding the videos of a dataset split and checking them.

A dataset root holds ``train/`` and ``test/`` folders (the layout of the
preprocessed VoxCeleb, TaiChiHD, TED-talks and MGif sets), or just videos, in
which case a split is chosen deterministically from each video's name. The
identity of a video is the part of its name before the first ``#``
(``id10001#7w0IBEWc9Qw#000993#001143.mp4`` belongs to ``id10001``).
"""
import logging
import os
import os.path as osp
import zlib
from typing import Dict, List, Optional

from mmengine.logging import print_log

from cpabmm.video import VideoError, check_video, is_video_path, open_video

SPLITS = ('train', 'test')
BAD_VIDEO_POLICIES = ('error', 'skip')


def video_name(path: str) -> str:
    """The file or folder name of a video without its extension."""
    base = osp.basename(osp.normpath(path))
    return base if osp.isdir(path) else osp.splitext(base)[0]


def identity_of(path: str) -> str:
    """The identity of a video: its name up to the first ``#``."""
    return video_name(path).split('#')[0]


def check_policy(on_bad_video: str) -> str:
    """Validate an ``on_bad_video`` setting."""
    if on_bad_video not in BAD_VIDEO_POLICIES:
        raise ValueError(f"on_bad_video must be one of {BAD_VIDEO_POLICIES}, "
                         f"got {on_bad_video!r}")
    return on_bad_video


def _in_test_split(name: str, test_fraction: float, split_seed: int) -> bool:
    """Deterministic, order-independent split decision from a video's name."""
    bucket = zlib.crc32(f'{split_seed}:{name}'.encode()) / 2**32
    return bucket < test_fraction


def _list_folder(folder: str, on_bad_video: str) -> List[str]:
    """Videos directly inside ``folder``, sorted by name; other files are bad input."""
    paths = []
    skipped = []
    for name in sorted(os.listdir(folder)):
        if name.startswith('.'):
            continue
        path = osp.join(folder, name)
        if is_video_path(path):
            paths.append(path)
        elif on_bad_video == 'skip':
            skipped.append(name)
        else:
            raise VideoError(path, 'not a video (folder, PNG strip or video file)',
                             "remove it or set on_bad_video='skip'")
    if skipped:
        print_log(f'{folder}: ignored {len(skipped)} non-video entries '
                  f'({", ".join(skipped[:5])}{", ..." if len(skipped) > 5 else ""})',
                  logger='current', level=logging.WARNING)
    return paths


def list_split(data_root: str, split: str, test_fraction: Optional[float] = None,
               split_seed: int = 0, on_bad_video: str = 'error') -> List[str]:
    """Paths of the videos of ``split`` under ``data_root``.

    Args:
        data_root: folder with ``train/`` and ``test/``, or with the videos
            themselves when ``test_fraction`` is given.
        split: ``'train'`` or ``'test'``.
        test_fraction: without split folders, the share of videos (chosen by
            a hash of their names, so stable as videos are added) that form
            the test split.
        split_seed: changes the hash-based split.
        on_bad_video: ``'error'`` or ``'skip'`` for entries that are not videos.

    Raises:
        FileNotFoundError: for a missing root or split folder.
        ValueError: for an empty split.
    """
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    if not osp.isdir(data_root):
        raise FileNotFoundError(
            f'{data_root}: dataset root not found; check data_root in the config')
    split_dir = osp.join(data_root, split)
    if osp.isdir(split_dir):
        paths = _list_folder(split_dir, on_bad_video)
        where = split_dir
    elif test_fraction is not None:
        if not 0 < test_fraction < 1:
            raise ValueError(f'test_fraction must lie in (0, 1), got {test_fraction}')
        paths = [p for p in _list_folder(data_root, on_bad_video)
                 if _in_test_split(video_name(p), test_fraction, split_seed)
                 == (split == 'test')]
        where = f'{data_root} ({split} share of a {test_fraction:g} test split)'
    else:
        raise FileNotFoundError(
            f'{split_dir}: split folder not found; create {SPLITS} folders under the '
            'root or set test_fraction for a name-hashed split')
    if not paths:
        raise ValueError(f'{where}: no videos in the {split} split; add videos or '
                         'check data_root')
    return paths


class BadVideoLog:
    """Apply the ``on_bad_video`` policy and count what was skipped.

    With ``'error'`` a :class:`VideoError` propagates; with ``'skip'`` it is
    logged as a warning that carries the running count.
    """

    def __init__(self, on_bad_video: str = 'error') -> None:
        self.policy = check_policy(on_bad_video)
        self.skipped: Dict[str, str] = {}

    def handle(self, err: VideoError) -> None:
        """Re-raise ``err`` or record and log it."""
        if self.policy == 'error':
            raise err
        self.skipped[err.path] = err.problem
        print_log(f'skipped bad video {err} ({len(self.skipped)} skipped so far)',
                  logger='current', level=logging.WARNING)


def scan_videos(paths: List[str], reader_cfg: dict, bad_videos: BadVideoLog,
                min_frames: int = 2, full_check: bool = False) -> List[dict]:
    """Open and check each video; one record per usable video.

    Each record holds ``video_path``, ``video_id`` (name), ``identity``,
    ``num_frames`` and ``frame_size``.
    """
    records = []
    for path in paths:
        try:
            source = open_video(path, **reader_cfg)
            check_video(source, full=full_check, min_frames=min_frames)
        except VideoError as err:
            bad_videos.handle(err)
            continue
        records.append(dict(video_path=path, video_id=video_name(path),
                            identity=identity_of(path), num_frames=source.num_frames,
                            frame_size=source.frame_size))
    if not records:
        raise ValueError(f'no usable videos among {len(paths)} '
                         f'(first: {paths[0]}); see the warnings above')
    return records
