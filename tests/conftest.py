"""Shared test set-up: the fixtures folder, CUDA skipping, and the CPAB
backend in the header (``CPABMM_REQUIRE_OPS=1``, which CI sets, makes a
missing compiled op an error instead of skipped kernel tests)."""
import os
import os.path as osp

import pytest
import torch

from cpabmm.ops.cpab.function import (BUILD_COMMAND, backend_name, backends_summary,
                                       compiled_available)
from cpabmm.utils import setup_runtime
from cpabmm.utils.run_state import fresh_run_state

setup_runtime()

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_FIXTURES = osp.join(REPO_ROOT, '..', 'shared', 'fixtures')


def pytest_report_header(config):
    return f'cpabmm CPAB op: {backends_summary()}'


def pytest_configure(config):
    if os.environ.get('CPABMM_REQUIRE_OPS') != '1':
        return
    devices = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
    for device in devices:
        if not compiled_available(torch.device(device)):
            raise pytest.UsageError(
                f'CPABMM_REQUIRE_OPS=1 but the CPAB op on {device} is the '
                f'{backend_name(torch.device(device))}; build it with `{BUILD_COMMAND}`')


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


@pytest.fixture(autouse=True)
def fresh_mmengine_state():
    """What a test adds to MMEngine's global tables (loggers bound to its
    captured streams, message hubs, visualizers) is dropped when it ends."""
    with fresh_run_state():
        yield
