"""AnimationTestLoop set-up checks and the model's test step."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.runner import Runner

from cpabmm.datasets import SyntheticMotionDataset
from cpabmm.utils.run_state import fresh_run_state
from tests.tools.test_test_cli import TPSMM, build_model, relative_animation_data


@pytest.fixture(autouse=True)
def own_run_state():
    """Each test's Runner has its own logger, message hub and visualizer,
    even when an earlier test built one of the same config in the same second."""
    with fresh_run_state():
        yield


def runner_for(tmp_path, dataset=None, evaluator=None, **test_cfg):
    cfg = Config.fromfile(TPSMM)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.test_dataloader.num_workers = 0
    cfg.test_dataloader.dataset.update(num_videos=1, num_frames=2)
    if dataset is not None:
        cfg.test_dataloader.dataset = dataset
    if evaluator is not None:
        cfg.test_evaluator = evaluator
    cfg.test_cfg.update(test_cfg)
    return Runner.from_cfg(cfg)


def build_loop(runner):
    return runner.build_test_loop(runner._test_loop)


def test_test_step_returns_what_the_metrics_read():
    model = build_model(TPSMM)
    dataset = SyntheticMotionDataset(size=64, num_videos=1, num_frames=2, test_mode=True,
                                     pipeline=[dict(type='PackFramePair')])
    data = default_collate([dataset[0], dataset[1]])
    with torch.no_grad():
        results = model.test_step(data)
        direct = model(dict(source=data['source'], driving=data['driving']), mode='predict',
                       outputs=('flow', ))
    for index, result in enumerate(results):
        torch.testing.assert_close(result['source'], data['source'][index])
        torch.testing.assert_close(result['driving'], data['driving'][index])
        torch.testing.assert_close(result['prediction'], direct[index]['prediction'])
        torch.testing.assert_close(result['flow'], direct[index]['flow'])
        assert result['flow'].shape[-1] == 2
        assert result['metainfo']['driving_index'] == index
        torch.testing.assert_close(result['metainfo']['kp_driving'], data['kp_driving'][index])


def test_ranking_metric_must_be_computed(tmp_path):
    runner = runner_for(tmp_path, side_by_side=1, rank_by='LPIPS')
    with pytest.raises(ValueError, match=r'LPIPS is not computed \(computed: L1, PSNR, SSIM'):
        build_loop(runner)


def test_ranking_defaults_to_l1(tmp_path):
    loop = build_loop(runner_for(tmp_path, side_by_side=1))
    assert loop.rank_by == 'L1'
    assert loop.per_video_csv is None


def test_unknown_protocol(tmp_path):
    with pytest.raises(ValueError, match="protocol must be one of"):
        build_loop(runner_for(tmp_path, protocol='transfer'))


def test_dataset_without_items(tmp_path):
    relative_animation_data(tmp_path / 'data')
    # Pairs that drive no frame leave the dataset empty (serialize_data=False:
    # MMEngine cannot serialise an empty data list).
    dataset = dict(type='CrossIdentityDataset', data_root=str(tmp_path / 'data'),
                   max_frames=0, serialize_data=False, pipeline=[dict(type='PackFramePair')])
    evaluator = dict(type='AnimationEvaluator', metrics=None, default_set='animation')
    runner = runner_for(tmp_path, dataset=dataset, evaluator=evaluator, protocol='animation')
    with pytest.raises(ValueError, match='CrossIdentityDataset has no videos'):
        build_loop(runner)


def test_distributed_results_are_collected_in_the_work_dir(tmp_path):
    loop = build_loop(runner_for(tmp_path))
    assert {metric.collect_dir for metric in loop.evaluator.metrics} == {
        str(tmp_path / 'work' / '.dist_collect')}


def test_validation_during_training_uses_the_same_test_step(tmp_path):
    """The configs' val pieces run MMEngine's ValLoop with the metrics that
    need no network."""
    cfg = Config.fromfile(TPSMM)
    # The synthetic training configs switch validation off; take the
    # dataset config's val pieces.
    data = Config.fromfile(osp.join(osp.dirname(TPSMM), '..', '_base_', 'datasets',
                                    'synthetic-64.py'))
    cfg.val_dataloader, cfg.val_cfg = data.val_dataloader, data.val_cfg
    cfg.val_evaluator = data.val_evaluator
    cfg.work_dir = str(tmp_path / 'work')
    cfg.val_dataloader.num_workers = 0
    cfg.val_dataloader.dataset.update(num_videos=1, num_frames=2)
    cfg.train_dataloader = cfg.train_cfg = cfg.optim_wrapper = cfg.param_scheduler = None
    metrics = Runner.from_cfg(cfg).val()
    assert set(metrics) == {'L1', 'PSNR', 'SSIM', 'MotionError'}


@pytest.mark.parametrize('test_cfg,dataloader,expected', [
    (dict(save_strips='strips'), dict(round_up=False), 'run them without a distributed'),
    (dict(side_by_side=1), dict(round_up=False), 'run them without a distributed'),
    ({}, dict(round_up=True), 'set test_dataloader.sampler.round_up=False'),
])
def test_distributed_runs_refuse_what_would_be_wrong(tmp_path, monkeypatch, test_cfg,
                                                      dataloader, expected):
    runner = runner_for(tmp_path, **test_cfg)
    runner._test_dataloader.sampler.update(dataloader)
    monkeypatch.setattr('cpabmm.engine.test_loop.get_world_size', lambda: 2)
    with pytest.raises(ValueError, match=expected):
        build_loop(runner)
