"""The bundled checkpoints (one lite model per family): verified by the index,
and their weights have learned motion (tools/test.py on a few synthetic test
videos follows the true motion better than no motion at all)."""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from cpabmm.registry import DATASETS
from cpabmm.zoo import load_model_index, resolve_model
from tests.tools.loading import load_tool

from .conftest import REPO

VIDEOS = 4


def no_motion_errors(config: str) -> tuple:
    """L1 and motion error (pixels) of predicting the source frame itself, on
    the first ``VIDEOS`` test videos, as tools/test.py averages them."""
    init_default_scope('cpabmm')
    dataset_cfg = Config.fromfile(config).test_dataloader.dataset
    dataset_cfg.num_videos = VIDEOS
    dataset = DATASETS.build(dataset_cfg)
    l1, motion = [], []
    for index in range(len(dataset)):
        item = dataset[index]
        source, driving = (item[key].float() for key in ('source', 'driving'))
        scale = 255.0 if source.max() > 1.5 else 1.0
        l1.append(((source - driving).abs().mean() / scale).item())
        visible = item['kp_source_visible'] & item['kp_driving_visible']
        if visible.any():
            pixels = torch.tensor([(source.shape[2] - 1) / 2, (source.shape[1] - 1) / 2])
            shift = (item['kp_source'] - item['kp_driving'])[visible] * pixels
            motion.append(shift.norm(dim=-1).mean().item())
    return sum(l1) / len(l1), sum(motion) / len(motion)


@pytest.mark.slow
@pytest.mark.parametrize('name', ['fomm-lite', 'tpsmm-lite', 'cpabmm-lite'])
def test_bundled_checkpoint_has_learned_motion(name, tmp_path):
    config, checkpoint = resolve_model(
        name, load_model_index(osp.join(REPO, 'model-index.yml')), progress=False)
    out = tmp_path / 'metrics.json'
    status = load_tool('test').main([
        config, checkpoint, '--out', str(out), '--work-dir', str(tmp_path),
        '--cfg-options', f'test_dataloader.dataset.num_videos={VIDEOS}',
        'test_dataloader.num_workers=0'])
    assert status == 0
    metrics = json.loads(out.read_text())['metrics']
    _, still_motion = no_motion_errors(config)
    # the motion error isolates the motion model (on these 4 videos all three
    # are 3.5% or more below no motion, on the test split's 50 videos 7% or
    # more: docs/results.md); L1 also needs the generator
    # to inpaint well, which these short runs do not all learn (docs/results.md)
    assert metrics['MotionError'] < 0.97 * still_motion
