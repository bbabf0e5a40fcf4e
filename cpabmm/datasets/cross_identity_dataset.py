"""Cross-identity animation: the source of one video driven by another video."""
import csv
import itertools
import os.path as osp
from typing import List, Optional, Tuple

import numpy as np

from cpabmm.registry import DATASETS

from .base_video_dataset import VideoDatasetBase


@DATASETS.register_module()
class CrossIdentityDataset(VideoDatasetBase):
    """Pairs (source video, driving video) of different identities, frame by frame.

    Pairs come from a CSV file with ``source`` and ``driving`` columns (video
    names, with or without extension; an optional ``source_frame`` column
    picks the source frame, other columns are ignored), or are drawn with a
    seed among videos of different identities. Items are streamed like test
    items: one per driving frame, in order, each with the source frame, and
    ``video_id`` set to ``'<source>__<driving>'``.

    Args:
        data_root: root with ``train/`` and ``test/``.
        split: split to pair videos from.
        pairs_file: CSV of pairs (relative to ``data_root`` or absolute).
        num_pairs: number of pairs to use (from the CSV's start, or drawn).
        seed: seed for drawing pairs.
        source_frame: source frame index when the CSV gives none.
        max_frames: drive at most this many frames per pair.
        **kwargs: see :class:`VideoDatasetBase`.
    """

    def __init__(self, data_root: str, split: str = 'test',
                 pairs_file: Optional[str] = None, num_pairs: Optional[int] = 100,
                 seed: int = 0, source_frame: int = 0,
                 max_frames: Optional[int] = None, **kwargs) -> None:
        if num_pairs is not None and num_pairs < 1:
            raise ValueError(f'num_pairs must be a positive number of pairs, or None for '
                             f'all of them; got {num_pairs}')
        self.pairs_file = pairs_file
        self.num_pairs = num_pairs
        self.seed = seed
        self.source_frame = source_frame
        self.max_frames = max_frames
        kwargs.setdefault('test_mode', True)
        super().__init__(data_root=data_root, split=split, **kwargs)

    def load_data_list(self) -> List[dict]:
        records = {r['video_id']: r for r in self.scan_split()}
        if self.pairs_file:
            pairs = self._read_pairs(records)
        else:
            pairs = self._draw_pairs(records)
        entries = []
        for pair_index, (source, driving, frame) in enumerate(pairs):
            if not 0 <= frame < source['num_frames']:
                raise ValueError(
                    f"{source['video_path']}: source frame {frame} out of range "
                    f"[0, {source['num_frames']}); fix the pairs file or source_frame")
            entries += self.sequence_entries(
                source, driving, frame, self.max_frames, pair_index=pair_index,
                video_id=f"{source['video_id']}__{driving['video_id']}",
                source_video_id=source['video_id'], driving_video_id=driving['video_id'])
        return entries

    def _read_pairs(self, records: dict) -> List[Tuple[dict, dict, int]]:
        path = self.pairs_file
        if not osp.isabs(path):
            path = osp.join(self.data_root, path)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path}: pairs file not found; check pairs_file')
        pairs = []
        with open(path, newline='') as f:
            reader = csv.DictReader(f)
            missing = {'source', 'driving'} - set(reader.fieldnames or ())
            if missing:
                raise ValueError(f'{path}: missing column(s) {sorted(missing)}; the '
                                 'header needs source and driving')
            for line, row in enumerate(reader, start=2):
                ends = []
                for column in ('source', 'driving'):
                    name = osp.splitext(osp.basename(row[column].strip()))[0]
                    if name not in records:
                        raise ValueError(
                            f'{path}:{line}: {column} video {row[column]!r} is not in '
                            f'the {self.split} split; fix the pairs file')
                    ends.append(records[name])
                frame = row.get('source_frame')
                frame = int(frame) if frame not in (None, '') else self.source_frame
                pairs.append((ends[0], ends[1], frame))
        if not pairs:
            raise ValueError(f'{path}: no pairs listed; add rows or drop pairs_file')
        return pairs[:self.num_pairs]

    def _draw_pairs(self, records: dict) -> List[Tuple[dict, dict, int]]:
        videos = [records[name] for name in sorted(records)]
        candidates = [(s, d) for s, d in itertools.permutations(videos, 2)
                      if s['identity'] != d['identity']]
        if not candidates:
            raise ValueError(f'{self.data_root}/{self.split}: all videos share one '
                             'identity; cross-identity pairs need two or more')
        count = len(candidates) if self.num_pairs is None else min(
            self.num_pairs, len(candidates))
        chosen = np.random.default_rng(self.seed).choice(
            len(candidates), size=count, replace=False)
        return [(*candidates[i], self.source_frame) for i in chosen]

    def prepare_data(self, idx: int) -> dict:
        return self.pipeline(self.load_sequence_item(self.get_data_info(idx)))
