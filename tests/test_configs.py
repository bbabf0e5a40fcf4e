"""Every config in configs/ builds its model and names registered types only."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import Registry, init_default_scope

import cpabmm.models  # noqa: F401  (registers the models)
from cpabmm import registry
from cpabmm.registry import MODELS

CONFIG_ROOT = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs')
CONFIGS = sorted(
    path for path in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
    if f'{osp.sep}_base_{osp.sep}' not in path)
REGISTRIES = [value for value in vars(registry).values() if isinstance(value, Registry)]
MODEL_BASES = sorted(glob.glob(osp.join(CONFIG_ROOT, '_base_', 'models', '*.py')))


def _types(cfg) -> set:
    """Every ``type`` name in a (nested) config."""
    if isinstance(cfg, dict):
        found = {cfg['type']} if isinstance(cfg.get('type'), str) else set()
        return found.union(*(_types(v) for v in cfg.values()))
    if isinstance(cfg, (list, tuple)):
        return set().union(*(_types(v) for v in cfg))
    return set()


def _build_model(cfg):
    """Build on the meta device: checks every shape, allocates nothing."""
    init_default_scope('cpabmm')
    missing = sorted(t for t in _types(cfg.model) if MODELS.get(t) is None)
    assert not missing, f'unregistered model types: {missing}'
    with torch.device('meta'):
        return MODELS.build(cfg.model)


def _name(path):
    return osp.relpath(path, CONFIG_ROOT)


def test_configs_found():
    families = {osp.basename(osp.dirname(path)) for path in CONFIGS}
    assert {'fomm', 'tpsmm', 'cpabmm'} <= families


@pytest.mark.parametrize('path', CONFIGS + MODEL_BASES, ids=_name)
def test_model_builds(path):
    cfg = Config.fromfile(path)
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
    cfg = Config.fromfile(path)
    assert int(gpus) == 1 and int(batch) == cfg.train_dataloader.batch_size
    assert epochs == f'{cfg.train_cfg.max_epochs}e'
    resolution = int(data.rsplit('-', 1)[1])
    assert tuple(cfg.model.image_size) == (resolution, resolution)


@pytest.mark.parametrize('path', CONFIGS, ids=_name)
def test_every_type_is_registered(path):
    """Models, datasets, transforms, hooks, metrics, the visualizer, ..."""
    init_default_scope('cpabmm')
    cfg = Config.fromfile(path)
    missing = sorted(t for t in _types(cfg.to_dict())
                     if all(registry.get(t) is None for registry in REGISTRIES))
    assert not missing, f'unregistered types: {missing}'


def test_motion_model_swaps_with_one_override():
    """Within the TPSMM/CPABMM family the motion model is one entry."""
    init_default_scope('cpabmm')
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, '_base_', 'models', 'tpsmm.py'))
    cfg.merge_from_dict({'model.motion.type': 'CPABMotion'})
    model = _build_model(cfg)
    assert type(model.motion).__name__ == 'CPABMotion'
    assert model.dense_motion.contribution_head.out_channels == model.motion.num_transforms + 1


# The official CPABMM config/*.yaml (DevilPG/AAAI2024-CPABMM): batch_size,
# num_repeats, lr_generator, bg (background predictor) / bg_start,
# dropout_startp / dropout_maxp, max_iter (the Adam steps of the partial fit;
# the global fit runs 1.5 * max_iter, modules/dense_motion.py).
OFFICIAL_CPABMM = {
    'vox-256': dict(batch=8, repeats=75, lr=1e-4, bg_start=10, dropout=(0.1, 0.3), max_iter=100),
    'taichi-256': dict(batch=8, repeats=300, lr=1e-4, bg_start=0, dropout=(0.0, 0.7),
                       max_iter=200),
    'ted-384': dict(batch=8, repeats=150, lr=2e-4, bg_start=0, dropout=(0.0, 0.5), max_iter=100),
    'mgif-256': dict(batch=8, repeats=50, lr=1e-4, bg_start=None, dropout=(0.2, 0.5),
                     max_iter=100),
}


@pytest.mark.parametrize('dataset', sorted(OFFICIAL_CPABMM))
def test_cpabmm_configs_follow_the_official_yaml(dataset):
    import inspect
    from cpabmm.models.losses import KeypointSemanticLoss, StructureAlignmentLoss
    from cpabmm.models.motion import CPABMotion

    published = OFFICIAL_CPABMM[dataset]
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, 'cpabmm', f'cpabmm_k10_1xb8-100e_{dataset}.py'))
    assert cfg.train_dataloader.batch_size == published['batch']
    assert cfg.train_dataloader.dataset.times == published['repeats']
    for wrapper in ('generator', 'background'):
        assert cfg.optim_wrapper[wrapper].optimizer.lr == published['lr']
    if published['bg_start'] is None:
        assert cfg.model.background is None
    else:
        assert cfg.model.background is not None
        assert cfg.model.bg_start == published['bg_start']
    dropout = cfg.model.transform_dropout
    assert (dropout.start_p, dropout.max_p) == published['dropout']
    assert (dropout.epochs, dropout.ramp_epochs) == (35, 10)
    assert cfg.train_cfg.max_epochs == 100 and cfg.param_scheduler.milestones == [70, 90]

    motion = cfg.model.motion
    assert motion.type == 'CPABMotion'
    defaults = inspect.signature(CPABMotion).parameters
    iterations = tuple(motion.get('adam_iterations', defaults['adam_iterations'].default))
    assert iterations == (published['max_iter'], int(1.5 * published['max_iter']))
    assert motion.get('adam_lr', defaults['adam_lr'].default) == 0.01
    assert motion.get('detach_keypoints', defaults['detach_keypoints'].default) is True

    structure = cfg.model.losses.structure.loss
    assert structure.type == 'StructureAlignmentLoss'
    loss_defaults = inspect.signature(StructureAlignmentLoss).parameters
    for key, value in dict(loss_weight=0.1, reduction='sum_over_batch').items():
        assert structure.get(key, loss_defaults[key].default) == value
    semantic = cfg.model.losses.keypoint_semantic.loss           # yaml loss_weights.sam: 1
    assert semantic.type == 'KeypointSemanticLoss'
    assert semantic.get('loss_weight', inspect.signature(
        KeypointSemanticLoss).parameters['loss_weight'].default) == 1
