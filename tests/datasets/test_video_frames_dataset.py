"""VideoFramesDataset on real media in every layout, and its bad-input handling."""
import logging
import os
import os.path as osp
import random

import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate
from mmengine.logging import MMLogger
from PIL import Image
from torch.utils.data import DataLoader

from cpabmm.datasets import VideoFramesDataset
from cpabmm.io import VideoError
from tests.datasets.media import (LAYOUT_WRITERS, astronaut_clip, carphone, make_root,
                                  make_video, write_folder, write_truncated_mp4)

PIPELINE = [dict(type='ResizeFrames', size=64), dict(type='PackFramePair')]


def carphone_root(tmp_path, layout, names=('id1#a', 'id1#b', 'id2#a'), test_names=('id3#a',)):
    frames = carphone(16)[:, :, 16:160]  # square 144x144 frames (strips default to square)
    return make_root(str(tmp_path / layout), layout, list(names), frames, test_names)


@pytest.mark.parametrize('layout', sorted(LAYOUT_WRITERS))
def test_dataloader_over_every_layout(tmp_path, layout):
    root = carphone_root(tmp_path, layout)
    dataset = VideoFramesDataset(root, pipeline=PIPELINE)
    assert len(dataset) == 3
    workers = 1 if layout == 'mp4' else 0  # one layout through a worker process
    loader = DataLoader(dataset, batch_size=3, collate_fn=default_collate, num_workers=workers)
    batch = next(iter(loader))
    for key in ('source', 'driving'):
        assert batch[key].shape == (3, 3, 64, 64)
        assert batch[key].dtype == torch.float32
        assert 0 <= batch[key].min() and batch[key].max() <= 1
    assert sorted(batch['video_id']) == ['id1#a', 'id1#b', 'id2#a']
    assert torch.all(batch['source_index'] != batch['driving_index'])
    assert torch.all(batch['num_frames'] == 16)


def test_pair_frames_are_the_indexed_frames(tmp_path):
    frames = astronaut_clip(8, 32)
    root = make_root(str(tmp_path), 'folder', ['v'], frames)
    dataset = VideoFramesDataset(root)
    np.random.seed(3)
    seen = set()
    for _ in range(20):
        item = dataset[0]
        np.testing.assert_array_equal(item['source'], frames[item['source_index']])
        np.testing.assert_array_equal(item['driving'], frames[item['driving_index']])
        seen.add((item['source_index'], item['driving_index']))
    assert len(seen) > 10  # pairs are drawn at random


def test_id_sampling_draws_one_identity_per_item(tmp_path):
    for layout in ('mp4', 'folder'):  # identities come from names in every layout
        root = make_root(str(tmp_path / layout), layout,
                         ['id1#x#1', 'id1#x#2', 'id1#y#1', 'id2#z#1'], astronaut_clip(4, 32))
        dataset = VideoFramesDataset(root, id_sampling=True)
        assert len(dataset) == 2
        np.random.seed(0)
        videos = {dataset[0]['video_id'] for _ in range(30)}
        assert videos == {'id1#x#1', 'id1#x#2', 'id1#y#1'}
        assert dataset[1]['video_id'] == 'id2#z#1'


def test_test_mode_streams_every_frame_in_order(tmp_path):
    frames = carphone(20)
    root = str(tmp_path)
    make_video(osp.join(root, 'test'), 'a', 'mp4', frames)
    make_video(osp.join(root, 'test'), 'b', 'folder', frames[:5])
    dataset = VideoFramesDataset(root, test_mode=True, pipeline=[dict(type='PackFramePair')])
    assert len(dataset) == 25
    items = [dataset[i] for i in range(len(dataset))]
    assert [i['video_id'] for i in items] == ['a'] * 20 + ['b'] * 5
    assert [i['driving_index'] for i in items] == list(range(20)) + list(range(5))
    reference = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255
    for item in items[:20]:
        assert item['source_index'] == 0 and item['num_frames'] == 20
        assert (item['source'] - reference[0]).abs().mean() < 2 / 255
        assert (item['driving'] - reference[item['driving_index']]).abs().mean() < 2 / 255
    # consecutive items share one decoder: no reopening between frames
    assert dataset.cursor._path.endswith('b')


def test_test_mode_max_frames(tmp_path):
    root = make_root(str(tmp_path), 'folder', [], astronaut_clip(6, 32), ['a', 'b'])
    dataset = VideoFramesDataset(root, test_mode=True, max_frames=3)
    assert len(dataset) == 6 and dataset[5]['num_frames'] == 3


def test_hash_split_without_split_folders(tmp_path):
    names = [f'id{i}#v' for i in range(40)]
    for name in names:
        write_folder(str(tmp_path / name), astronaut_clip(2, 16))
    train = VideoFramesDataset(str(tmp_path), test_fraction=0.25)
    test = VideoFramesDataset(str(tmp_path), test_fraction=0.25, test_mode=True)
    train_ids = {train[i]['video_id'] for i in range(len(train))}
    test_ids = {test[i]['video_id'] for i in range(len(test))}
    assert train_ids | test_ids == set(names) and not train_ids & test_ids
    assert 3 <= len(test_ids) <= 18
    # stable: adding a video moves no other video between splits
    write_folder(str(tmp_path / 'id99#v'), astronaut_clip(2, 16))
    again = VideoFramesDataset(str(tmp_path), test_fraction=0.25, test_mode=True)
    assert test_ids <= {again[i]['video_id'] for i in range(len(again))}


# --- bad input -------------------------------------------------------------------

def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere: dataset root not found; check '
                       'data_root'):
        VideoFramesDataset(str(tmp_path / 'nowhere'))


def test_missing_split_folder(tmp_path):
    (tmp_path / 'train').mkdir()
    with pytest.raises(FileNotFoundError, match='test: split folder not found'):
        VideoFramesDataset(str(tmp_path), test_mode=True)


def test_empty_split(tmp_path):
    (tmp_path / 'train').mkdir()
    with pytest.raises(ValueError, match=r'train: no videos in the train split'):
        VideoFramesDataset(str(tmp_path))


def bad_root(tmp_path, make_bad):
    """A root with two good videos and one made bad by ``make_bad(train_dir)``."""
    root = make_root(str(tmp_path), 'folder', ['good1', 'good2'], astronaut_clip(4, 32))
    make_bad(osp.join(root, 'train'))
    return root


def _unreadable(train):
    with open(osp.join(train, 'bad.mp4'), 'wb') as f:
        f.write(random.Random(0).randbytes(3000))  # bytes the demuxer rejects


def _truncated(train):
    write_truncated_mp4(osp.join(train, 'bad.mp4'), astronaut_clip(20, 32))


def _one_frame(train):
    write_folder(osp.join(train, 'bad'), astronaut_clip(1, 32))


def _zero_frames(train):
    os.makedirs(osp.join(train, 'bad'))


def _mixed_sizes(train):
    path = write_folder(osp.join(train, 'bad'), astronaut_clip(3, 32))
    Image.fromarray(astronaut_clip(1, 40)[0]).save(osp.join(path, '0000002.png'))


def _gray_first_frame(train):
    path = write_folder(osp.join(train, 'bad'), astronaut_clip(3, 32))
    Image.open(osp.join(path, '0000000.png')).convert('L').save(osp.join(path, '0000000.png'))


def _rgba_strip(train):
    strip = np.concatenate(list(astronaut_clip(3, 32)), axis=1)
    Image.fromarray(strip).convert('RGBA').save(osp.join(train, 'bad.png'))


def _non_image(train):
    path = write_folder(osp.join(train, 'bad'), astronaut_clip(3, 32))
    with open(osp.join(path, 'Thumbs.db'), 'wb') as f:
        f.write(b'\0' * 10)


def _not_a_video(train):
    with open(osp.join(train, 'bad.txt'), 'w') as f:
        f.write('notes')


BAD_INPUTS = {
    'unreadable': (_unreadable, r'bad.mp4: unreadable video'),
    'truncated': (_truncated, r'bad.mp4: (truncated video: decoded \d+ of 20 frames'
                              r'|decoding failed after frame \d+)'),
    'one frame': (_one_frame, r'bad: video has 1 frame\(s\), at least 2 needed'),
    'zero frames': (_zero_frames, r'bad: frame folder holds no frames'),
    'mixed sizes': (_mixed_sizes, r'0000002.png: frame is 40x40 but the first frame is 32x32'),
    'grayscale': (_gray_first_frame, r"0000000.png: frame is grayscale \(PIL mode 'L'\)"),
    'rgba': (_rgba_strip, r"bad.png: frame has an alpha channel \(PIL mode 'RGBA'\)"),
    'non-image': (_non_image, r'Thumbs.db: not an image file among the frames'),
    'not a video': (_not_a_video, r"bad.txt: not a video"),
}


@pytest.mark.parametrize('case', sorted(BAD_INPUTS))
def test_bad_video_raises_one_line(tmp_path, case):
    make_bad, message = BAD_INPUTS[case]
    root = bad_root(tmp_path, make_bad)
    with pytest.raises(ValueError, match=message) as info:
        VideoFramesDataset(root, check='full')
    assert '\n' not in str(info.value)
    assert isinstance(info.value, VideoError)


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def warnings_log():
    """Messages logged through MMEngine's current logger during the test."""
    handler = _Records()
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


@pytest.mark.parametrize('case', sorted(BAD_INPUTS))
def test_bad_video_skipped_with_counted_warning(tmp_path, case, warnings_log):
    make_bad, message = BAD_INPUTS[case]
    root = bad_root(tmp_path, make_bad)
    dataset = VideoFramesDataset(root, check='full', on_bad_video='skip')
    assert sorted(dataset[i]['video_id'] for i in range(len(dataset))) == ['good1', 'good2']
    (skipped,) = dataset.bad_videos.skipped
    assert osp.splitext(osp.basename(skipped))[0] == 'bad'
    assert message.split(':')[0] in warnings_log[0]  # names the bad file
    assert len(warnings_log) == 1 and warnings_log[0].endswith('(1 skipped so far)')


def test_problem_found_at_read_time_is_named_or_skipped(tmp_path, warnings_log):
    """Without a full check a bad middle frame surfaces when read: named, or skipped."""
    root = make_root(str(tmp_path), 'folder', ['good', 'bad'], astronaut_clip(3, 32))
    bad_frame = osp.join(root, 'train', 'bad', '0000002.png')
    Image.fromarray(astronaut_clip(1, 40)[0]).save(bad_frame)
    strict = VideoFramesDataset(root)
    np.random.seed(0)
    with pytest.raises(VideoError, match=r'0000002.png: frame 2 is 40x40 but the video is 32x32'):
        for _ in range(20):
            strict[0]
    lenient = VideoFramesDataset(root, on_bad_video='skip')
    ids = {lenient[0]['video_id'] for _ in range(20)}
    assert ids == {'good'}  # the bad video is replaced by another item
    assert list(lenient.bad_videos.skipped) == [osp.dirname(bad_frame)]
    assert 'bad/0000002.png: frame 2 is 40x40' in warnings_log[0]


def test_all_videos_bad(tmp_path):
    root = str(tmp_path)
    write_folder(osp.join(root, 'train', 'a'), astronaut_clip(1, 32))
    with pytest.raises(ValueError, match='train: no usable videos among 1'):
        VideoFramesDataset(root, on_bad_video='skip')


def test_bad_policy_name(tmp_path):
    with pytest.raises(ValueError, match="on_bad_video must be one of"):
        VideoFramesDataset(str(tmp_path), on_bad_video='ignore')


def test_check_levels(tmp_path):
    """'metadata' decodes no frame, 'quick' the first, 'full' every one."""
    root = make_root(str(tmp_path), 'folder', ['good', 'gray', 'late'], astronaut_clip(3, 32))
    first = osp.join(root, 'train', 'gray', '0000000.png')
    Image.open(first).convert('L').save(first)
    with open(osp.join(root, 'train', 'late', '0000002.png'), 'wb') as f:
        f.write(b'not a png')
    kept = {level: sorted(r['video_id'] for r in VideoFramesDataset(
        root, check=level, on_bad_video='skip', serialize_data=False).data_list)
        for level in ('metadata', 'quick', 'full')}
    assert kept == {'metadata': ['good', 'gray', 'late'], 'quick': ['good', 'late'],
                    'full': ['good']}
    with pytest.raises(ValueError, match="check level must be one of"):
        VideoFramesDataset(root, check='some')
