"""Frame pairs and whole videos from a folder of videos."""
from collections import defaultdict
from typing import List, Optional

import numpy as np

from cpabmm.io import VideoError
from cpabmm.registry import DATASETS

from .base_video_dataset import VideoDatasetBase


@DATASETS.register_module()
class VideoFramesDataset(VideoDatasetBase):
    """Videos in any layout (frame folders, mp4/mov/gif files, PNG strips).

    Training items are two distinct random frames of one video, ``source``
    and ``driving`` (``[H, W, 3]`` arrays before the pipeline), with
    ``video_id``, ``source_index``, ``driving_index`` and ``num_frames``.
    With ``id_sampling`` an item is an identity (the name before ``#``) and
    its video is drawn at random, so identities with many videos are not
    over-represented.

    Test items (``test_mode=True``) follow the reconstruction protocol: for
    every video, frame 0 is the source and every frame is driven in order,
    one item per frame (see :mod:`.base_video_dataset`).

    Args:
        data_root: root with ``train/`` and ``test/``.
        split: which split to read (defaults to ``'test'`` in test mode).
        id_sampling: one item per identity instead of per video (training).
        max_frames: in test mode, drive at most this many frames per video.
        **kwargs: see :class:`VideoDatasetBase`.
    """

    def __init__(self, data_root: str, split: Optional[str] = None,
                 id_sampling: bool = False, max_frames: Optional[int] = None,
                 test_mode: bool = False, **kwargs) -> None:
        self.id_sampling = id_sampling
        self.max_frames = max_frames
        split = split or ('test' if test_mode else 'train')
        super().__init__(data_root=data_root, split=split, test_mode=test_mode, **kwargs)

    def load_data_list(self) -> List[dict]:
        records = self.scan_split()
        if self.test_mode:
            return [entry for record in records
                    for entry in self.sequence_entries(
                        record, record, max_frames=self.max_frames,
                        video_id=record['video_id'])]
        if not self.id_sampling:
            return records
        by_identity = defaultdict(list)
        for record in records:
            by_identity[record['identity']].append(record)
        return [dict(identity=identity, videos=videos)
                for identity, videos in sorted(by_identity.items())]

    def prepare_data(self, idx: int) -> Optional[dict]:
        info = self.get_data_info(idx)
        if self.test_mode:
            return self.pipeline(self.load_sequence_item(info))
        if self.id_sampling:
            info = info['videos'][np.random.randint(len(info['videos']))]
        if info['video_path'] in self.bad_videos.skipped:
            return None  # BaseDataset draws another index
        try:
            results = self.load_pair(info)
        except VideoError as err:
            self.bad_videos.handle(err, info['video_path'])
            return None
        return self.pipeline(results)

    def load_pair(self, record: dict) -> dict:
        """Two distinct random frames of a video."""
        source_index, driving_index = np.random.choice(
            record['num_frames'], size=2, replace=False).tolist()
        source, driving = self.open(record).read([source_index, driving_index])
        return dict(source=source, driving=driving, video_id=record['video_id'],
                    video_path=record['video_path'], source_index=source_index,
                    driving_index=driving_index, num_frames=record['num_frames'])
