"""Every config in configs/ builds its model (and names registered types)."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import cpabmm.models  # noqa: F401  (registers the models)
from cpabmm.registry import DATASETS, MODELS, TRANSFORMS

CONFIG_ROOT = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs')
CONFIGS = sorted(
    path for path in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
    if f'{osp.sep}_base_{osp.sep}' not in path)
MODEL_BASES = sorted(glob.glob(osp.join(CONFIG_ROOT, '_base_', 'models', '*.py')))


def _types(cfg) -> set:
    """Every ``type`` name in a (nested) config."""
    if isinstance(cfg, dict):
        found = {cfg['type']} if isinstance(cfg.get('type'), str) else set()
        return found.union(*(_types(v) for v in cfg.values()))
    if isinstance(cfg, (list, tuple)):
        return set().union(*(_types(v) for v in cfg))
    return set()


def _load(path):
    """The config; skipped while the dataset configs it inherits (from the
    datasets work, ``configs/_base_/datasets/``) are not in this tree."""
    try:
        return Config.fromfile(path)
    except FileNotFoundError as error:
        if f'_base_{osp.sep}datasets' not in str(error):
            raise
        pytest.skip(f'dataset base config not available yet: {error.filename}')


def _build_model(cfg):
    """Build on the meta device: checks every shape, allocates nothing."""
    init_default_scope('cpabmm')
    missing = sorted(t for t in _types(cfg.model) if MODELS.get(t) is None)
    if missing:
        pytest.skip(f'model types not registered yet: {missing}')
    with torch.device('meta'):
        return MODELS.build(cfg.model)


def _name(path):
    return osp.relpath(path, CONFIG_ROOT)


def test_configs_found():
    families = {osp.basename(osp.dirname(path)) for path in CONFIGS}
    assert {'fomm', 'tpsmm', 'cpabmm'} <= families


@pytest.mark.parametrize('path', CONFIGS + MODEL_BASES, ids=_name)
def test_model_builds(path):
    cfg = _load(path)
    model = _build_model(cfg)
    expected_size = tuple(cfg.model.image_size)
    assert model.image_size == expected_size
    assert expected_size[0] % model.size_multiple == 0
    assert model.dense_motion.num_transforms == model.motion.num_transforms


@pytest.mark.parametrize('path', CONFIGS, ids=_name)
def test_config_follows_the_naming_convention(path):
    """{model}_{settings}_{gpus}xb{batch}-{schedule}_{dataset}-{res}.py"""
    name = osp.splitext(osp.basename(path))[0]
    family = osp.basename(osp.dirname(path))
    model, settings, schedule, data = name.split('_')
    assert model == family and settings
    gpus_batch, epochs = schedule.split('-')
    gpus, batch = gpus_batch.split('xb')
    cfg = _load(path)
    assert int(gpus) == 1 and int(batch) == cfg.train_dataloader.batch_size
    assert epochs == f'{cfg.train_cfg.max_epochs}e'
    resolution = int(data.rsplit('-', 1)[1])
    assert tuple(cfg.model.image_size) == (resolution, resolution)


@pytest.mark.parametrize('path', CONFIGS, ids=_name)
def test_data_pipeline_types_are_registered(path):
    init_default_scope('cpabmm')
    if DATASETS.get('VideoFramesDataset') is None:
        pytest.skip('cpabmm.datasets is not available yet')
    cfg = _load(path)
    names = _types(cfg.train_dataloader.dataset) - {'RepeatDataset'}
    missing = sorted(n for n in names if DATASETS.get(n) is None and TRANSFORMS.get(n) is None)
    assert not missing, f'unregistered dataset/transform types: {missing}'


def test_motion_model_swaps_with_one_override():
    """Within the TPSMM/CPABMM family the motion model is one entry."""
    init_default_scope('cpabmm')
    if MODELS.get('CPABMotion') is None:
        pytest.skip('CPABMotion is not available yet')
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, '_base_', 'models', 'tpsmm.py'))
    cfg.merge_from_dict({'model.motion.type': 'CPABMotion'})
    model = _build_model(cfg)
    assert type(model.motion).__name__ == 'CPABMotion'
    assert model.dense_motion.contribution_head.out_channels == model.motion.num_transforms + 1
