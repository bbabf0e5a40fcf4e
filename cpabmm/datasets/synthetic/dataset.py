"""The synthetic large-motion dataset, generated on the fly from a seed."""
from collections import OrderedDict
from typing import List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset

from cpabmm.registry import DATASETS

from ..transforms import build_pipeline
from .scene import KEYPOINTS_PER_PART, SyntheticScene

_SPLIT_IDS = {'train': 0, 'test': 1, 'val': 2}
_DEFAULT_NUM_VIDEOS = {'train': 2000, 'test': 50, 'val': 50}


@DATASETS.register_module()
class SyntheticMotionDataset(BaseDataset):
    """Procedural videos of articulated, bending, textured objects with keypoints.

    Every video is a function of ``(seed, split, video index)`` and every
    training pair of ``(seed, split, item index)``, so the data need no files
    and a run is reproducible. Items have the keys of the video datasets
    (``source``, ``driving``, ``video_id``, ``source_index``,
    ``driving_index``, ``num_frames``) plus ground-truth keypoints
    ``kp_source``/``kp_driving`` (``[P, 2]``, x first, in [-1, 1] with the
    ``grid_sample(align_corners=True)`` convention) and their visibility
    ``kp_source_visible``/``kp_driving_visible`` (``[P]`` bool: inside the
    frame and not hidden by another part). Frames are float32 ``[H, W, 3]``
    in [0, 1] before the pipeline.

    Training items are random frame pairs of video ``index % num_videos``;
    test items (``test_mode=True``) follow the reconstruction protocol, one
    item per frame with frame 0 as the source, like
    :class:`~cpabmm.datasets.VideoFramesDataset`.

    Args:
        size: frame height and width in pixels (64, 128 and 256 are the
            configured sizes; any size from 32 works).
        split: ``'train'``, ``'val'`` (for choosing among runs, e.g. seeds)
            or ``'test'`` (different videos each); defaults to ``'test'`` in
            test mode.
        num_videos: videos in the split (default 2000 train, 50 val, 50 test).
        num_frames: frames per video.
        pairs_per_video: training items per video.
        seed: seed of the whole dataset.
        limbs_per_side: lengths of the limb chains at the body's two ends;
            there are ``5 * (1 + sum(limbs_per_side))`` keypoints.
        scene_cache: scenes (with their textures) kept per process.
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments.
    """

    def __init__(self, size: int = 128, split: Optional[str] = None,
                 num_videos: Optional[int] = None, num_frames: int = 32,
                 pairs_per_video: int = 1, seed: int = 0,
                 limbs_per_side: Sequence[int] = (1, 1), scene_cache: int = 16,
                 test_mode: bool = False, metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        split = split or ('test' if test_mode else 'train')
        if split not in _SPLIT_IDS:
            raise ValueError(f'split must be one of {tuple(_SPLIT_IDS)}, got {split!r}')
        if size < 32:
            raise ValueError(f'size must be at least 32 pixels, got {size}')
        if num_frames < 2:
            raise ValueError(f'num_frames must be at least 2, got {num_frames}')
        self.size = size
        self.split = split
        self.num_videos = num_videos or _DEFAULT_NUM_VIDEOS[split]
        self.num_frames = num_frames
        self.pairs_per_video = pairs_per_video
        self.seed = seed
        self.limbs_per_side = tuple(limbs_per_side)
        self.scene_cache = scene_cache
        self._scenes: OrderedDict = OrderedDict()
        num_parts = 1 + sum(self.limbs_per_side)
        metainfo = dict(size=size,
                        num_keypoints=KEYPOINTS_PER_PART * num_parts,
                        keypoint_parts=np.repeat(np.arange(num_parts),
                                                 KEYPOINTS_PER_PART).tolist(),
                        **(metainfo or {}))
        kwargs['pipeline'] = build_pipeline(kwargs.get('pipeline', ()))
        super().__init__(metainfo=metainfo, test_mode=test_mode, **kwargs)

    def load_data_list(self) -> List[dict]:
        if self.test_mode:
            return [dict(video_index=video, source_index=0, driving_index=frame)
                    for video in range(self.num_videos) for frame in range(self.num_frames)]
        return [dict(video_index=item % self.num_videos)
                for item in range(self.num_videos * self.pairs_per_video)]

    def scene(self, video_index: int) -> SyntheticScene:
        """The scene of a video (rebuilt from the seed when not cached)."""
        if video_index in self._scenes:
            self._scenes.move_to_end(video_index)
            return self._scenes[video_index]
        rng = np.random.default_rng([self.seed, _SPLIT_IDS[self.split], video_index])
        scene = SyntheticScene(rng, self.num_frames, self.limbs_per_side)
        self._scenes[video_index] = scene
        while len(self._scenes) > self.scene_cache:
            self._scenes.popitem(last=False)
        return scene

    def frame_pair(self, idx: int) -> tuple:
        """``(source_index, driving_index)`` of item ``idx``."""
        info = self.get_data_info(idx)
        if self.test_mode:
            return info['source_index'], info['driving_index']
        rng = np.random.default_rng([self.seed, _SPLIT_IDS[self.split], 1, idx])
        return tuple(rng.choice(self.num_frames, size=2, replace=False).tolist())

    def prepare_data(self, idx: int) -> dict:
        video = self.get_data_info(idx)['video_index']
        scene = self.scene(video)
        source_index, driving_index = self.frame_pair(idx)
        results = dict(video_id=f'synthetic-{self.split}-{video:05d}',
                       source_index=source_index, driving_index=driving_index,
                       num_frames=self.num_frames)
        for name, index in (('source', source_index), ('driving', driving_index)):
            results[name] = scene.render(index, self.size)
            results[f'kp_{name}'] = scene.keypoints(index).astype(np.float32)
            results[f'kp_{name}_visible'] = scene.visible_keypoints(index)
        return self.pipeline(results)
