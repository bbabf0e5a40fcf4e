"""AnimationEvaluator: default metric sets with skipped metrics explained,
required metrics failing at start-up."""
import copy
import glob
import importlib.util
import os.path as osp
import re

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from cpabmm.engine import DEFAULT_SETS, AnimationEvaluator, AnimationTestLoop
from cpabmm.evaluation import MetricUnavailableError
from cpabmm.registry import LOOPS

HAS_MEDIAPIPE = importlib.util.find_spec('mediapipe') is not None


@pytest.fixture(autouse=True)
def empty_hub_cache(tmp_path, monkeypatch):
    """No LPIPS backbone weights."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))


def metric_types(evaluator):
    return [type(metric).__name__ for metric in evaluator.metrics]


def test_synthetic_set_uses_ground_truth_motion_and_explains_what_it_skips(tmp_path):
    evaluator = AnimationEvaluator(default_set='synthetic')
    assert metric_types(evaluator) == ['L1', 'PSNR', 'SSIM', 'MotionError',
                                      'MotionMagnitudeBreakdown']
    assert set(evaluator.skipped) == {'AKD', 'LPIPS'}
    assert 'ground-truth keypoints' in evaluator.skipped['AKD']
    assert str(tmp_path / 'torch_home') in evaluator.skipped['LPIPS']


def test_faces_set_has_akd_when_mediapipe_is_installed():
    evaluator = AnimationEvaluator()
    if HAS_MEDIAPIPE:
        assert metric_types(evaluator) == ['L1', 'PSNR', 'SSIM', 'AKD']
        assert set(evaluator.skipped) == {'LPIPS'}
    else:
        assert metric_types(evaluator) == ['L1', 'PSNR', 'SSIM']
        assert 'pip install' in evaluator.skipped['AKD']


def test_sets_without_landmarks_and_without_ground_truth():
    no_landmarks = AnimationEvaluator(default_set='no_landmarks')
    assert metric_types(no_landmarks) == ['L1', 'PSNR', 'SSIM']
    assert 'register one' in no_landmarks.skipped['AKD']
    animation = AnimationEvaluator(default_set='animation')
    assert animation.metrics == []
    assert set(animation.skipped) == {'L1', 'PSNR', 'SSIM', 'LPIPS', 'AKD', 'AED'}
    assert "gt_key='source'" in animation.skipped['AED']
    assert 'another identity' in animation.skipped['L1']


def test_named_metrics_are_required():
    evaluator = AnimationEvaluator(metrics=[dict(type='SSIM'), dict(type='L1')])
    assert metric_types(evaluator) == ['SSIM', 'L1'] and evaluator.skipped == {}
    with pytest.raises(MetricUnavailableError, match='backbone weights not found'):
        AnimationEvaluator(metrics=[dict(type='L1'), dict(type='LPIPS')])


def test_unknown_default_set():
    with pytest.raises(ValueError, match=re.escape(f'choose from {list(DEFAULT_SETS)}')):
        AnimationEvaluator(default_set='bodies')


def test_runner_builds_it_from_a_config_with_metrics_none():
    init_default_scope('cpabmm')
    evaluator = Runner.build_evaluator(
        None, dict(type='AnimationEvaluator', metrics=None, default_set='no_landmarks'))
    assert isinstance(evaluator, AnimationEvaluator)
    assert metric_types(evaluator) == ['L1', 'PSNR', 'SSIM']


DATASET_CONFIGS = sorted(glob.glob(osp.join(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))), 'configs', '_base_', 'datasets', '*.py')))


#: dataset configs that hold their pieces under one key (to be taken by
#: training configs of another dataset), and a config that takes them
PIECES = {'carphone-64.py': osp.join('tpsmm', 'tpsmm_k10-lite_1xb8-10e_carphone-64.py')}


@pytest.mark.parametrize('path', DATASET_CONFIGS, ids=osp.basename)
def test_dataset_configs_build_their_evaluators_and_loops(path):
    init_default_scope('cpabmm')
    name = osp.basename(path)
    if name in PIECES:
        path = osp.join(osp.dirname(path), '..', '..', PIECES[name])
    cfg = Config.fromfile(path)
    if name in PIECES:      # real video without keypoints: the pixel metrics, named
        assert [m['type'] for m in cfg.test_evaluator.metrics] == ['L1', 'PSNR', 'SSIM']
        assert cfg.test_dataloader.dataset.split == 'test'
        assert cfg.train_dataloader.dataset.dataset.split == 'train'
        return
    assert LOOPS.get(cfg.test_cfg['type']) is AnimationTestLoop
    assert cfg.test_dataloader.sampler.round_up is False
    for key in ('test_evaluator', 'val_evaluator', 'animation_evaluator'):
        if key in cfg:
            evaluator = Runner.build_evaluator(None, copy.deepcopy(cfg[key]))
            assert isinstance(evaluator, AnimationEvaluator)
    expected = {'vox-256.py': 'faces', 'synthetic-64.py': 'synthetic',
                'synthetic-128.py': 'synthetic', 'synthetic-256.py': 'synthetic'}
    assert cfg.test_evaluator.default_set == expected.get(osp.basename(path), 'no_landmarks')
