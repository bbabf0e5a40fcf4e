"""init_model: overrides checked like the tools', checkpoints by the one rule."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from cpabmm.apis import init_model
from cpabmm.engine import ConfigError

CONFIG = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
                  'tpsmm', 'tpsmm_k10-small_1xb8-20e_synthetic-64.py')


@pytest.mark.parametrize('config', [CONFIG, Config.fromfile(CONFIG)], ids=['path', 'Config'])
def test_unknown_override_keys_are_refused(config):
    with pytest.raises(ConfigError, match="did you mean 'keypoint_detector'"):
        init_model(config, cfg_options={'model.keypoint_detectr.num_keypoints': 5})


def test_bare_state_dicts_are_refused(tmp_path):
    model = init_model(CONFIG)
    path = tmp_path / 'bare.pth'
    torch.save(model.state_dict(), path)
    with pytest.raises(ValueError, match='bare state dicts are not accepted'):
        init_model(CONFIG, str(path))
