"""A checkpoint file that is no complete PyTorch file (half of a real one, an
empty file, random bytes) ends every tool with exit status 2 and one
``error: <path>: ...`` line, no traceback, and nothing written."""
import glob
import os.path as osp

import pytest
from PIL import Image

from tests.checkpoint.broken_files import KINDS, write_broken
from tests.tools.loading import REPO, load_tool

CONFIG = osp.join(REPO, 'configs', 'fomm', 'fomm_k10-small_1xb8-20e_synthetic-64.py')


def run_demo(tmp_path, checkpoint):
    picture = str(tmp_path / 'picture.png')
    Image.new('RGB', (64, 64), 'gray').save(picture)
    output = tmp_path / 'result.mp4'
    status = load_tool('demo').main(['--source', picture, '--driving', picture, '--config',
                                     CONFIG, '--checkpoint', checkpoint, '--output',
                                     str(output), '--device', 'cpu'])
    return status, [output]


def run_test(tmp_path, checkpoint):
    out = tmp_path / 'metrics.json'
    status = load_tool('test').main([CONFIG, checkpoint, '--work-dir', str(tmp_path / 'work'),
                                     '--out', str(out)])
    return status, [out]


def run_convert(tmp_path, checkpoint):
    dst = tmp_path / 'converted.pth'
    return load_tool('convert_checkpoint').main([checkpoint, str(dst), '--model', 'fomm']), [dst]


def run_train(tmp_path, *options):
    work_dir = tmp_path / 'work'
    status = load_tool('train').main([CONFIG, '--work-dir', str(work_dir), *options])
    return status, glob.glob(str(work_dir / '*.pth'))  # no training step, no checkpoint


TOOLS = {
    'demo': run_demo,
    'test': run_test,
    'convert_checkpoint': run_convert,
    'train --resume': lambda tmp_path, path: run_train(tmp_path, '--resume', path),
    'train load_from': lambda tmp_path, path: run_train(tmp_path, '--cfg-options',
                                                        f'load_from={path}'),
}


@pytest.mark.parametrize('tool', list(TOOLS))
@pytest.mark.parametrize('kind', KINDS)
def test_broken_checkpoint_is_one_line_and_status_2(tmp_path, capsys, tool, kind):
    checkpoint = str(tmp_path / f'{kind}.pth')
    message = write_broken(checkpoint, kind)
    status, outputs = TOOLS[tool](tmp_path, checkpoint)
    err = capsys.readouterr().err
    assert status == 2, err[-2000:]
    assert 'Traceback' not in err
    assert [line for line in err.splitlines() if line.startswith('error:')] == [
        f'error: {message}']
    assert not [str(path) for path in outputs if osp.exists(path)]
