"""Every dataset config builds and its dataloaders yield correctly shaped batches."""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from cpabmm.registry import DATASETS
from tests.datasets.media import carphone, make_root

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets')
CONFIGS = sorted(osp.basename(p)[:-3] for p in glob.glob(osp.join(CONFIG_DIR, '*.py')))
# The layout each published set is distributed in by the original authors.
LAYOUTS = {'vox-256': 'mp4', 'taichi-256': 'folder', 'ted-384': 'mp4', 'mgif-256': 'gif'}


def load(name: str) -> Config:
    init_default_scope('cpabmm')
    return Config.fromfile(osp.join(CONFIG_DIR, f'{name}.py'))


def first_batch(loader_cfg, batch_size=None, **dataset_overrides):
    cfg = copy.deepcopy(loader_cfg)
    cfg.update(num_workers=0, persistent_workers=False)
    if batch_size:
        cfg['batch_size'] = batch_size
    inner = cfg['dataset'].get('dataset', cfg['dataset'])  # through RepeatDataset
    inner.update(dataset_overrides)
    return next(iter(Runner.build_dataloader(cfg, seed=0)))


def test_all_published_and_synthetic_configs_exist():
    assert set(LAYOUTS) | {'synthetic-64', 'synthetic-128', 'synthetic-256'} <= set(CONFIGS)


@pytest.mark.parametrize('name', sorted(LAYOUTS))
def test_published_dataset_config(tmp_path, name):
    cfg = load(name)
    frames = carphone(6)[:, :, 16:160]
    root = make_root(str(tmp_path), LAYOUTS[name], ['id1#a', 'id1#b', 'id2#a'], frames,
                     ['id3#a', 'id4#a'])
    size = cfg.frame_size
    batch = first_batch(cfg.train_dataloader, batch_size=6, data_root=root)
    assert batch['source'].shape == (6, 3, size, size)
    assert batch['driving'].dtype == torch.float32
    assert 0 <= batch['driving'].min() and batch['driving'].max() <= 1
    test_batch = first_batch(cfg.test_dataloader, data_root=root)
    assert test_batch['source'].shape == (cfg.test_dataloader.batch_size, 3, size, size)
    assert test_batch['driving_index'].tolist() == [0, 1, 2, 3]
    pairs = DATASETS.build(dict(cfg.animation_dataset, data_root=root, num_pairs=2))
    item = pairs[0]
    assert item['source'].shape == (3, size, size)
    assert item['source_video_id'].split('#')[0] != item['driving_video_id'].split('#')[0]


@pytest.mark.parametrize('name', ['synthetic-64', 'synthetic-128', 'synthetic-256'])
def test_synthetic_dataset_config(name):
    cfg = load(name)
    size = cfg.frame_size
    assert cfg.train_dataloader.dataset.size == cfg.test_dataloader.dataset.size == size
    if size == 64:  # a full batch; the larger sizes render the same scenes
        batch = first_batch(cfg.train_dataloader)
        assert batch['source'].shape == (cfg.train_dataloader.batch_size, 3, 64, 64)
        assert batch['kp_source'].shape[1:] == (15, 2)
    test_set = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(test_set) == 50 * 32
    item = test_set[1]
    assert item['driving'].shape == (3, size, size) and item['source_index'] == 0
