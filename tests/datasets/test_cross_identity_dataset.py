"""CrossIdentityDataset: pairs from a CSV or a seed, streamed frame by frame."""
import os.path as osp

import numpy as np
import pytest

from cpabmm.datasets import CrossIdentityDataset
from tests.datasets.media import astronaut_clip, carphone, make_root

NAMES = ['id1#a', 'id1#b', 'id2#a', 'id3#a']


def video_frames(name):
    """Frames of test video ``name`` as make_root writes them (rolled by position)."""
    frames = np.concatenate([astronaut_clip(4, 48), carphone(4)[:, :48, :48]])
    return np.roll(frames, NAMES.index(name), axis=0)


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    return make_root(str(tmp_path_factory.mktemp('pairs')), 'folder', [],
                     video_frames(NAMES[0]), NAMES)


def test_pairs_from_csv(root):
    with open(osp.join(root, 'pairs.csv'), 'w') as f:
        f.write('distance,source,driving,source_frame\n0.3,id1#a.mp4,id2#a,2\n0.1,id3#a,id1#b,\n')
    dataset = CrossIdentityDataset(root, pairs_file='pairs.csv')
    assert len(dataset) == 16  # two pairs, 8 driving frames each
    first = dataset[0]
    assert first['video_id'] == 'id1#a__id2#a'
    assert (first['source_index'], first['driving_index']) == (2, 0)
    np.testing.assert_array_equal(first['source'], video_frames('id1#a')[2])
    np.testing.assert_array_equal(first['driving'], video_frames('id2#a')[0])
    last = dataset[15]
    assert last['source_video_id'] == 'id3#a' and last['driving_video_id'] == 'id1#b'
    assert last['source_index'] == 0 and last['driving_index'] == 7
    np.testing.assert_array_equal(last['source'], video_frames('id3#a')[0])
    np.testing.assert_array_equal(last['driving'], video_frames('id1#b')[7])


def test_seeded_pairs_cross_identities(root):
    a = CrossIdentityDataset(root, num_pairs=5, seed=1, max_frames=2)
    b = CrossIdentityDataset(root, num_pairs=5, seed=1, max_frames=2)
    c = CrossIdentityDataset(root, num_pairs=5, seed=2, max_frames=2)
    ids = [a[i]['video_id'] for i in range(0, len(a), 2)]
    assert len(a) == 10 and len(set(ids)) == 5
    assert ids == [b[i]['video_id'] for i in range(0, len(b), 2)]
    assert ids != [c[i]['video_id'] for i in range(0, len(c), 2)]
    for i in range(len(a)):
        item = a[i]
        assert item['source_video_id'].split('#')[0] != item['driving_video_id'].split('#')[0]


def test_num_pairs_must_be_positive(root):
    with pytest.raises(ValueError, match='num_pairs must be a positive number of pairs, '
                       'or None for all of them; got 0'):
        CrossIdentityDataset(root, num_pairs=0)


def test_pairs_file_errors(root, tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.csv: pairs file not found'):
        CrossIdentityDataset(root, pairs_file='missing.csv')
    bad_header = tmp_path / 'header.csv'
    bad_header.write_text('src,drv\na,b\n')
    with pytest.raises(ValueError,
                       match=r"header.csv: missing column\(s\) \['driving', 'source'\]"):
        CrossIdentityDataset(root, pairs_file=str(bad_header))
    unknown = tmp_path / 'unknown.csv'
    unknown.write_text('source,driving\nid1#a,id9#z\n')
    with pytest.raises(ValueError, match=r"unknown.csv:2: driving video 'id9#z' is not in the "
                       'test split'):
        CrossIdentityDataset(root, pairs_file=str(unknown))
    frame = tmp_path / 'frame.csv'
    frame.write_text('source,driving,source_frame\nid1#a,id2#a,99\n')
    with pytest.raises(ValueError, match=r'id1#a: source frame 99 out of range \[0, 8\)'):
        CrossIdentityDataset(root, pairs_file=str(frame))


def test_single_identity_cannot_pair(tmp_path):
    root = make_root(str(tmp_path), 'folder', [], astronaut_clip(3, 32), ['id1#a', 'id1#b'])
    with pytest.raises(ValueError, match='all videos share one identity'):
        CrossIdentityDataset(root)
