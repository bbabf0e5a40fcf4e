"""InitialDrivingFrames: frame 0 of each driving sequence for relative motion,
from earlier batches or, for sequences split over processes, the dataset."""
import pytest
import torch
from mmengine.dataset import default_collate

from cpabmm.datasets import CrossIdentityDataset, SyntheticMotionDataset
from cpabmm.engine import InitialDrivingFrames
from tests.tools.test_test_cli import FRAMES, relative_animation_data


@pytest.fixture(scope='module')
def pairs(tmp_path_factory):
    root = tmp_path_factory.mktemp('pairs')
    relative_animation_data(root)
    return CrossIdentityDataset(str(root), num_pairs=2, seed=0,
                                pipeline=[dict(type='PackFramePair')])


def batch(dataset, indices):
    return default_collate([dataset[i] for i in indices])


def test_frames_come_from_the_batches_in_order(pairs):
    frames = InitialDrivingFrames(pairs)
    first = frames.add_to(batch(pairs, [0, 1]))
    torch.testing.assert_close(first['driving_initial'], first['driving'][:1].expand(2, -1, -1, -1))
    # frame 2 of pair 0 and frame 0 of pair 1 in one batch
    second = frames.add_to(batch(pairs, [2, 3]))
    torch.testing.assert_close(second['driving_initial'][0], first['driving'][0])
    torch.testing.assert_close(second['driving_initial'][1], second['driving'][1])
    assert frames._first_items is None  # the dataset was not searched


def test_a_sequence_met_midway_reads_its_first_frame_from_the_dataset(pairs):
    later = batch(pairs, [FRAMES + 2])
    added = InitialDrivingFrames(pairs).add_to(later)
    torch.testing.assert_close(added['driving_initial'][0], pairs[FRAMES]['driving'])
    assert pairs[FRAMES]['driving_index'] == 0
    assert 'driving_initial' not in later  # the input batch is left alone


def test_lists_of_frames_stay_lists(pairs):
    samples = [pairs[0], pairs[1]]
    listed = {key: [s[key] for s in samples] for key in samples[0]}
    added = InitialDrivingFrames(pairs).add_to(listed)
    assert isinstance(added['driving_initial'], list)
    torch.testing.assert_close(added['driving_initial'][1], samples[0]['driving'])


def test_only_a_few_sequences_are_kept(pairs):
    frames = InitialDrivingFrames(pairs, keep=1)
    frames.add_to(batch(pairs, [0]))
    frames.add_to(batch(pairs, [FRAMES]))
    assert len(frames._frames) == 1


def test_dataset_without_video_ids_in_its_data_list():
    dataset = SyntheticMotionDataset(size=32, num_videos=1, num_frames=3, test_mode=True,
                                     pipeline=[dict(type='PackFramePair')])
    with pytest.raises(ValueError, match='run the animation protocol in one process'):
        InitialDrivingFrames(dataset).add_to(default_collate([dataset[2]]))
