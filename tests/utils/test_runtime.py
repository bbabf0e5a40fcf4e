"""setup_runtime: importing cpabmm changes nothing in MMEngine; setting up does."""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.runner import load_checkpoint

from cpabmm.checkpoint import load_local_checkpoint
from cpabmm.utils import setup_runtime

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SNAPSHOTS = '''
import json
from mmengine.fileio import io
from mmengine.runner.checkpoint import CheckpointLoader

def snapshot():
    tables = dict(schemes=CheckpointLoader._schemes, backends=io.backends,
                  prefixes=io.prefix_to_backends, instances=io.backend_instances)
    return {name: {str(k): repr(v) for k, v in table.items()} for name, table in tables.items()}

states = [snapshot()]
import cpabmm.apis, cpabmm.engine, cpabmm.checkpoint  # noqa: E401,F401
states.append(snapshot())
from cpabmm.utils import setup_runtime
setup_runtime()
states.append(snapshot())
setup_runtime()
states.append(snapshot())
print(json.dumps(states))
'''


def test_import_has_no_side_effects_and_setup_is_idempotent():
    result = subprocess.run([sys.executable, '-c', SNAPSHOTS], cwd=REPO_ROOT, check=True,
                            capture_output=True, text=True)
    before, imported, set_up, again = json.loads(result.stdout.splitlines()[-1])
    assert imported == before
    assert set_up['backends'] == before['backends'] and set_up['instances'] == before['instances']
    assert 'load_local_checkpoint' in set_up['schemes']['']
    assert 'load_local_checkpoint' not in before['schemes']['']
    assert again == set_up


@pytest.mark.parametrize('content', [{'weight': torch.zeros(1, 1)},  # bare state dict
                                     {'kp_detector': {}, 'generator': {}}])  # official FOMM
def test_mmengine_loading_applies_the_checkpoint_rule(tmp_path, content):
    setup_runtime()
    path = tmp_path / 'weights.pth'
    torch.save(content, path)
    with pytest.raises(ValueError, match='convert'):
        load_checkpoint(torch.nn.Linear(1, 1), str(path))


def test_setup_registers_our_loader():
    from mmengine.runner.checkpoint import CheckpointLoader
    setup_runtime()
    assert CheckpointLoader._schemes[''] is load_local_checkpoint
