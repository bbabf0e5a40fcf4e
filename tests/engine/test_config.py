"""Config loading and override validation."""
import glob
import os.path as osp

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


# ---------------------------------------------------------------- config files
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_ROOT = osp.join(REPO_ROOT, 'configs')
SHIPPED = sorted(path for path in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
                 if f'{osp.sep}_base_{osp.sep}' not in path)
SYNTHETIC = osp.join(CONFIG_ROOT, 'tpsmm', 'tpsmm_k10-lite_1xb8-20e_synthetic-64.py')


def write_config(tmp_path, body, name='my_config.py', base=SYNTHETIC):
    path = tmp_path / name
    lines = [f'_base_ = [{base!r}]'] if base else []
    path.write_text('\n'.join(lines + [body]) + '\n')
    return str(path)


def one_line_error(path, options=None):
    with pytest.raises(ConfigError) as info:
        load_config(path, options)
    message = str(info.value)
    assert '\n' not in message
    return message


@pytest.mark.parametrize('path', SHIPPED, ids=lambda p: osp.relpath(p, CONFIG_ROOT))
def test_every_shipped_config_loads(path):
    load_config(path)


def test_a_misspelt_top_level_key_in_a_config_file(tmp_path):
    path = write_config(tmp_path, 'modle = dict(image_size=(32, 32))')
    message = one_line_error(path)
    assert message.startswith(f"{path}: unknown top-level key 'modle' (did you mean 'model'?)")


@pytest.mark.parametrize('key, known', [
    ('optim_wraper', 'optim_wrapper'), ('train_dataloder', 'train_dataloader'),
    ('animation_dataste', 'animation_dataset'), ('param_schedular', 'param_scheduler')])
def test_near_misses_of_runner_and_tool_keys(tmp_path, key, known):
    message = one_line_error(write_config(tmp_path, f'{key} = dict()'))
    assert f"unknown top-level key {key!r} (did you mean {known!r}?)" in message


def test_helper_keys_are_not_refused(tmp_path):
    path = write_config(tmp_path, "data_root = 'data/mine'\n"
                                  "train_pipeline = [dict(type='PackFramePair')]\n"
                                  "test_pipeline = train_pipeline\nframe_size = 64\n"
                                  "my_lr = 1e-4")
    cfg = load_config(path)
    assert cfg.data_root == 'data/mine' and cfg.my_lr == 1e-4


def test_a_misspelt_top_level_override():
    message = one_line_error(SYNTHETIC, {'modle.image_size': (32, 32)})
    assert "no 'modle' in the config (did you mean 'model'?)" in message
    message = one_line_error(SYNTHETIC, {'modle': 1})
    assert "(did you mean 'model'?)" in message


def test_a_runner_key_absent_from_the_config_may_be_set():
    cfg = load_config(SYNTHETIC, {'experiment_name': 'mine', 'auto_scale_lr.base_batch_size': 8})
    assert cfg.experiment_name == 'mine' and cfg.auto_scale_lr.base_batch_size == 8


@pytest.mark.parametrize('key, value, message', [
    ('train_dataloader.batch_size', 'abc',
     "bad value for train_dataloader.batch_size: 'abc' is not an int (the config has 8)"),
    ('optim_wrapper.generator.optimizer.lr', 'fast',
     "bad value for optim_wrapper.generator.optimizer.lr: 'fast' is not a number "
     '(the config has 0.0005)'),
    ('train_dataloader.persistent_workers', 'yes',
     "bad value for train_dataloader.persistent_workers: 'yes' is not a boolean"),
    ('custom_hooks.0.type', 'SetEpochHok',
     "unknown type 'SetEpochHok' at custom_hooks.0.type (did you mean 'SetEpochHook'?)"),
])
def test_bad_override_values(key, value, message):
    assert message in one_line_error(SYNTHETIC, {key: value})


@pytest.mark.parametrize('key, value', [
    ('train_dataloader.batch_size', 4), ('optim_wrapper.generator.optimizer.lr', 1),
    ('train_cfg.max_epochs', 2), ('model.image_size', None), ('load_from', 'x.pth'),
    ('train_dataloader.dataset.times', 3)])
def test_good_override_values(key, value):
    load_config(osp.join(CONFIG_ROOT, 'tpsmm', 'tpsmm_k10-lite_1xb8-10e_carphone-64.py'),
                {key: value})


def test_a_syntax_error_names_the_file_and_line(tmp_path):
    path = write_config(tmp_path, 'model = dict(image_size=(64, 64)\nx = 1', base=None)
    message = one_line_error(path)
    assert message.startswith(f'syntax error in config file {path}, line 1: ')


def test_a_syntax_error_in_a_base_file_names_that_file(tmp_path):
    base = write_config(tmp_path, 'a = 1\nb = [1, 2\n', name='base.py', base=None)
    path = write_config(tmp_path, 'c = 3', base='./base.py')
    message = one_line_error(path)
    assert message.startswith(f'syntax error in config file {base}, line 2: ')


@pytest.mark.parametrize('body, message', [
    ("model = dict(motion=dict(_delete_=True, type='TPSMotoin'))",
     "unknown type 'TPSMotoin' at model.motion.type (did you mean 'TPSMotion'?)"),
    ("custom_hooks = [dict(type='SetEpochHook'), dict(type='NonFiniteLosHook')]",
     "unknown type 'NonFiniteLosHook' at custom_hooks.1.type "
     "(did you mean 'NonFiniteLossHook'?)"),
])
def test_an_unknown_type_in_a_config_file(tmp_path, body, message):
    assert message in one_line_error(write_config(tmp_path, body))


def test_an_unknown_type_is_refused_before_building(monkeypatch):
    from cpabmm.registry import MODELS

    def no_building(*args, **kwargs):
        raise AssertionError('built a model')
    monkeypatch.setattr(MODELS, 'build', no_building)
    message = one_line_error(SYNTHETIC, {'model.motion.type': 'TPSMotoin'})
    assert message == ("unknown type 'TPSMotoin' at model.motion.type (did you mean "
                       "'TPSMotion'?): no registry of cpabmm or MMEngine has it")
