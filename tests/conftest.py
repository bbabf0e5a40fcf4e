"""Shared test set-up: the fixtures folder and CUDA skipping."""
import os.path as osp

import pytest
import torch

import cpabmm.engine  # noqa: F401  (weights-only checkpoint loading)

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_FIXTURES = osp.join(REPO_ROOT, '..', 'shared', 'fixtures')


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason='needs a CUDA device')
    for item in items:
        if 'cuda' in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope='session')
def fixtures_dir() -> str:
    """``../shared/fixtures`` next to the repository (CI has it there too)."""
    if not osp.isdir(SHARED_FIXTURES):
        pytest.fail(f'reference fixtures not found at {SHARED_FIXTURES}')
    return SHARED_FIXTURES
