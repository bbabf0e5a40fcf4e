"""The initial driving frame of each sequence, which relative motion needs."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, Optional

import torch
from torch import Tensor


def _as_int(value: Any) -> int:
    return int(value.item() if isinstance(value, Tensor) else value)


class InitialDrivingFrames:
    """Add ``driving_initial`` (frame 0 of each sample's driving sequence)
    to test batches.

    Test datasets deliver the frames of a sequence in order, so frame 0 of a
    sequence comes in the current batch or an earlier one; the frames of the
    last ``keep`` sequences are kept. A process that gets later frames of a
    sequence without its first (a distributed run spreads the frames over
    the ranks) reads that frame from the dataset, whose data list must then
    name ``video_id`` and ``driving_index`` (as the cross-identity dataset's
    does).

    Args:
        dataset: the test dataset (for frames not seen in a batch).
        keep: how many sequences' initial frames to keep.
    """

    def __init__(self, dataset, keep: int = 4) -> None:
        self.dataset = dataset
        self.keep = keep
        self._frames: 'OrderedDict[str, Tensor]' = OrderedDict()
        self._first_items: Optional[Dict[str, int]] = None

    def add_to(self, data_batch: Dict[str, Any]) -> Dict[str, Any]:
        """A copy of a collated batch (a dict of batched or listed fields)
        with ``driving_initial`` added in the layout of ``driving``."""
        if not isinstance(data_batch, dict) or 'driving' not in data_batch:
            raise ValueError(
                'relative motion needs batches that are dicts with driving frames; '
                "use collate_fn=dict(type='default_collate') or 'pseudo_collate'")
        video_ids = [str(v) for v in data_batch['video_id']]
        indices = [_as_int(i) for i in data_batch['driving_index']]
        driving = data_batch['driving']
        for video_id, index, frame in zip(video_ids, indices, driving):
            if index == 0:
                self._remember(video_id, frame)
        initial = [self._frame(video_id) for video_id in video_ids]
        batch = dict(data_batch)
        batch['driving_initial'] = (
            torch.stack(initial) if isinstance(driving, Tensor) else initial)
        return batch

    def _remember(self, video_id: str, frame: Tensor) -> None:
        self._frames[video_id] = frame
        self._frames.move_to_end(video_id)
        while len(self._frames) > self.keep:
            self._frames.popitem(last=False)

    def _frame(self, video_id: str) -> Tensor:
        if video_id not in self._frames:
            item = self.dataset[self._first_item(video_id)]
            self._remember(video_id, torch.as_tensor(item['driving']))
        return self._frames[video_id]

    def _first_item(self, video_id: str) -> int:
        """Dataset index of frame 0 of the sequence ``video_id``."""
        if self._first_items is None:
            self._first_items = {}
            for index in range(len(self.dataset)):
                info = self.dataset.get_data_info(index)
                if 'video_id' not in info or 'driving_index' not in info:
                    raise ValueError(
                        f'{type(self.dataset).__name__} does not name video_id and '
                        'driving_index in its data list, so the initial driving frame '
                        'of a sequence split over processes cannot be found; run the '
                        'animation protocol in one process')
                if info['driving_index'] == 0:
                    self._first_items[str(info['video_id'])] = index
        if video_id not in self._first_items:
            raise ValueError(f'the test dataset has no frame 0 of sequence {video_id!r}')
        return self._first_items[video_id]
