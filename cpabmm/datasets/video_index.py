"""Finding the videos of a dataset split and checking them.

A dataset root holds ``train/`` and ``test/`` folders (the layout of the
preprocessed VoxCeleb, TaiChiHD, TED-talks and MGif sets), or just videos, in
which case a split is chosen deterministically from each video's name. The
identity of a video is the part of its name before the first ``#``
(``id10001#7w0IBEWc9Qw#000993#001143.mp4`` belongs to ``id10001``).
"""
import os
import os.path as osp
import hashlib
import logging
from typing import Dict, List, Optional

from mmengine.logging import print_log

from cpabmm.io import VideoError, check_video, is_video_path, open_video

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
    digest = hashlib.sha1(f'{split_seed}:{name}'.encode()).digest()
    bucket = int.from_bytes(digest[:8], 'big') / 2**64
    return bucket < test_fraction


def _list_folder(folder: str, bad_videos: 'BadVideoLog') -> List[str]:
    """Videos directly inside ``folder``, sorted by name; other entries are bad input."""
    paths = []
    for name in sorted(os.listdir(folder)):
        if name.startswith('.'):
            continue
        path = osp.join(folder, name)
        if is_video_path(path):
            paths.append(path)
        else:
            bad_videos.handle(VideoError(path, 'not a video (folder, PNG strip or video file)',
                                         "remove it or set on_bad_video='skip'"))
    return paths


def list_split(data_root: str, split: str, test_fraction: Optional[float] = None,
               split_seed: int = 0, bad_videos: Optional['BadVideoLog'] = None) -> List[str]:
    """Paths of the videos of ``split`` under ``data_root``.

    Args:
        data_root: folder with ``train/`` and ``test/``, or with the videos
            themselves when ``test_fraction`` is given.
        split: ``'train'`` or ``'test'``.
        test_fraction: without split folders, the share of videos (chosen by
            a hash of their names, so stable as videos are added) that form
            the test split.
        split_seed: changes the hash-based split.
        bad_videos: policy for entries that are not videos (default: error).

    Raises:
        FileNotFoundError: for a missing root or split folder.
        ValueError: for an empty split.
    """
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    bad_videos = bad_videos or BadVideoLog()
    if not osp.isdir(data_root):
        raise FileNotFoundError(
            f'{data_root}: dataset root not found; check data_root in the config')
    split_dir = osp.join(data_root, split)
    if osp.isdir(split_dir):
        paths = _list_folder(split_dir, bad_videos)
        where = split_dir
    elif test_fraction is not None:
        if not 0 < test_fraction < 1:
            raise ValueError(f'test_fraction must lie in (0, 1), got {test_fraction}')
        paths = [p for p in _list_folder(data_root, bad_videos)
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

    def handle(self, err: VideoError, video_path: Optional[str] = None) -> None:
        """Re-raise ``err`` or record (under ``video_path``, default the file) and log it."""
        if self.policy == 'error':
            raise err
        self.skipped[video_path or err.path] = err.problem
        print_log(f'skipped bad video {err} ({len(self.skipped)} skipped so far)',
                  logger='current', level=logging.WARNING)


def scan_videos(paths: List[str], reader_cfg: dict, bad_videos: BadVideoLog,
                min_frames: int = 2, check: str = 'quick') -> List[dict]:
    """Open and check each video; one record per usable video.

    Each record holds ``video_path``, ``video_id`` (name), ``identity``,
    ``num_frames`` and ``frame_size``.
    """
    records = []
    for path in paths:
        try:
            source = open_video(path, **reader_cfg)
            check_video(source, check, min_frames)
        except VideoError as err:
            bad_videos.handle(err, path)
            continue
        records.append(dict(video_path=path, video_id=video_name(path),
                            identity=identity_of(path), num_frames=source.num_frames,
                            frame_size=source.frame_size))
    if not records:
        where = osp.dirname(paths[0]) if paths else 'the split'
        raise ValueError(f'{where}: no usable videos among {len(paths)}; see the '
                         'warnings above')
    return records
