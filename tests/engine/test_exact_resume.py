"""A resumed run equals an uninterrupted one: checkpoints hold every random
generator, validation leaves them alone, data-loader workers follow them."""
import glob
import io
import os.path as osp
import random
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import FUNCTIONS, init_default_scope
from mmengine.runner import Runner
from torch.utils.data import DataLoader, Dataset

from cpabmm.engine import RandomStateHook, capture_random_state, restore_random_state
from cpabmm.utils.run_state import fresh_run_state

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_TPSMM = osp.join(ROOT, 'tests', 'data', 'configs', 'tpsmm_tiny_resume.py')


def draws():
    """A few numbers from every global generator."""
    return (random.random(), random.gauss(0, 1), np.random.rand(), np.random.randn(),
            torch.rand(2).tolist())


def test_the_random_state_round_trips_through_a_weights_only_checkpoint():
    draws()
    buffer = io.BytesIO()
    torch.save(capture_random_state(), buffer)
    expected = draws()
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    buffer.seek(0)
    restore_random_state(torch.load(buffer, weights_only=True))
    assert draws() == expected


@pytest.mark.cuda
def test_the_cuda_generator_round_trips_through_a_weights_only_checkpoint():
    torch.rand(1, device='cuda')  # CUDA in use
    buffer = io.BytesIO()
    torch.save(capture_random_state(), buffer)
    expected = torch.rand(4, device='cuda')
    torch.cuda.manual_seed(1)
    buffer.seek(0)
    restore_random_state(torch.load(buffer, weights_only=True))
    assert torch.equal(torch.rand(4, device='cuda'), expected)


def fake_runner(iteration: int):
    loader = SimpleNamespace(num_workers=0, persistent_workers=False,
                             sampler=SimpleNamespace(seed=0))
    return SimpleNamespace(iter=iteration, train_dataloader=loader, world_size=1)


def test_validation_leaves_the_generators_as_it_found_them():
    hook, checkpoint = RandomStateHook(), {}
    state = capture_random_state()
    expected = draws()
    restore_random_state(state)
    hook.before_val(runner=None)
    draws()
    hook.before_save_checkpoint(fake_runner(iteration=0), checkpoint)  # best checkpoint
    hook.after_val(runner=None)
    assert draws() == expected
    restore_random_state(checkpoint['random_state']['generators'])
    assert draws() == expected


@pytest.mark.parametrize('resumed', [True, False])
def test_generators_are_restored_when_training_resumes_only(resumed):
    hook, runner = RandomStateHook(), fake_runner(iteration=12)
    checkpoint = {'meta': {'iter': 12}}
    hook.before_save_checkpoint(runner, checkpoint)
    expected = draws()
    runner.train_dataloader.sampler.seed = 7
    hook.after_load_checkpoint(runner, checkpoint)
    if not resumed:  # load_from: the weights only, training starts at 0
        runner.iter = 0
    hook.before_train(runner)
    assert (draws() == expected) is resumed
    assert runner.train_dataloader.sampler.seed == (0 if resumed else 7)


class NumpyDraws(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        return np.random.rand()


def epochs_of_draws(epochs: int):
    init_default_scope('cpabmm')
    loader = DataLoader(NumpyDraws(), num_workers=1, persistent_workers=False,
                        worker_init_fn=FUNCTIONS.get('cpabmm.seed_worker'))
    return [torch.cat(list(loader)).tolist() for _ in range(epochs)]


def test_workers_draw_anew_every_epoch_from_the_main_generator():
    torch.manual_seed(0)
    first, second = epochs_of_draws(2)
    assert first != second
    torch.manual_seed(0)
    assert epochs_of_draws(1) == [first]


def test_configs_start_training_workers_seeded_from_the_main_generator():
    for path in glob.glob(osp.join(ROOT, 'configs', '*', '*.py')):
        loader = Config.fromfile(path).get('train_dataloader')
        if loader and loader.get('num_workers', 0) > 0:
            assert not loader.get('persistent_workers', False), path
            assert loader.get('worker_init_fn') == {'type': 'cpabmm.seed_worker'}, path


@fresh_run_state()
def train(work_dir, max_epochs: int, seed, load_from=None):
    cfg = Config.fromfile(TINY_TPSMM)
    cfg.merge_from_dict({'work_dir': str(work_dir), 'train_cfg.max_epochs': max_epochs,
                         'default_hooks.checkpoint.max_keep_ckpts': -1, 'randomness.seed': seed})
    cfg.resume, cfg.load_from = load_from is not None, load_from
    Runner.from_cfg(cfg).train()
    return torch.load(osp.join(work_dir, f'epoch_{max_epochs}.pth'), weights_only=True)


@pytest.mark.parametrize('seed', [0, None])  # None: MMEngine draws one, the checkpoint keeps it
def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path, seed):
    uninterrupted = train(tmp_path / 'whole', 3, seed)
    shutil.copy(tmp_path / 'whole' / 'epoch_1.pth', tmp_path / 'start.pth')
    resumed = train(tmp_path / 'resumed', 3, seed, load_from=str(tmp_path / 'start.pth'))
    for name, value in uninterrupted['state_dict'].items():
        assert torch.equal(resumed['state_dict'][name], value), name
