"""Config loading and override validation."""
import pytest
from mmengine.config import Config

from cpabmm.engine import ConfigError, check_override_keys, load_config


def make_cfg():
    return Config(dict(
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=10),
        pipeline=[dict(type='Resize'), dict(type='Flip')],
        plain=dict(size=3)))


@pytest.mark.parametrize('key', [
    'train_cfg.max_iters', 'train_cfg.val_interval', 'pipeline.1.type', 'plain.size'])
def test_known_and_constructor_keys_are_accepted(key):
    check_override_keys(make_cfg(), {key: 1})


@pytest.mark.parametrize('key, message', [
    ('trian_cfg.max_iters', "no 'trian_cfg' in the config (did you mean 'train_cfg'?)"),
    ('train_cfg.max_itres', "IterBasedTrainLoop takes no argument 'max_itres' (did you mean 'max_iters'?)"),
    ('pipeline.2.type', 'is a list of 2 items'),
    ('plain.sizes', "no 'sizes' in plain (did you mean 'size'?)"),
    ('plain.size.x', 'plain.size is not a dict'),
])
def test_unknown_keys_raise_one_line(key, message):
    with pytest.raises(ConfigError) as info:
        check_override_keys(make_cfg(), {key: 1})
    assert message in str(info.value)
    assert '\n' not in str(info.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match='config file not found'):
        load_config(str(tmp_path / 'missing.py'))
