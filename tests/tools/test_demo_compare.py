"""tools/demo.py --compare: one video, source | driving | a titled column per
model, with the bundled cpabmm-lite and random-weight lite TPSMM and FOMM
checkpoints (the pictures are meaningless; the layout, streams and failures
are checked)."""
import itertools
import os
import os.path as osp
import re
import time

import av
import numpy as np
import pytest
import torch
from PIL import Image

from cpabmm.io import open_video
from cpabmm.visualization import label_box
from tests.apis.clips import audio_seconds, captured_log, video_info, write_clip_with_tone
from tests.tools.loading import REPO, load_tool

SOURCE = osp.join(REPO, 'demo', 'source.png')
CONFIGS = {name: osp.join(REPO, 'configs', name, f'{name}_k10-lite_1xb8-20e_synthetic-64.py')
           for name in ('tpsmm', 'fomm')}
COLUMN = 256  # the 64-pixel models' frames enlarged 4x
AAC_FRAME = 1024 / 44100


@pytest.fixture(scope='module')
def demo():
    return load_tool('demo')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """Random-weight checkpoints of the lite TPSMM and FOMM, saved as MMEngine
    checkpoints, and a 3-frame cut of the bundled driving video with a tone."""
    from cpabmm.apis import init_model
    root = tmp_path_factory.mktemp('compare')
    pairs = {}
    for name, config in CONFIGS.items():
        torch.manual_seed(0)
        model = init_model(config)
        path = str(root / f'{name}.pth')
        torch.save({'state_dict': model.state_dict(), 'meta': {'note': 'test weights'}}, path)
        pairs[name] = f'{config}:{path}'
    video = open_video(osp.join(REPO, 'demo', 'driving.mp4'))
    frames = list(itertools.islice(video.iter_frames(), 3))
    driving = write_clip_with_tone(str(root / 'driving.mp4'), frames, fps=25)
    return dict(pairs=pairs, driving=driving, frames=frames)


def run_compare(demo, setup, output, models, *extra):
    return demo.main(['--source', SOURCE, '--driving', setup['driving'], '--output', output,
                      '--device', 'cpu', '--compare', *models, *extra])


def luma(image: np.ndarray) -> np.ndarray:
    """Brightness, which H.264 at --crf 0 keeps at full resolution (colour
    is halved in each direction)."""
    return np.asarray(image, float) @ [0.299, 0.587, 0.114]


def decoded(path: str) -> list:
    with av.open(path) as container:
        return [frame.to_ndarray(format='rgb24') for frame in container.decode(video=0)]


def test_one_video_with_a_titled_column_per_model(demo, setup, tmp_path):
    out = str(tmp_path / 'compare.mp4')
    models = ['cpabmm-lite', setup['pairs']['tpsmm'], setup['pairs']['fomm']]
    with captured_log() as log:
        assert run_compare(demo, setup, out, models, '--keypoints', '--crf', '0') == 0
    assert f'wrote {out}: 3 frames at 25 fps, with the driving audio' in log.getvalue()
    assert sorted(os.listdir(tmp_path)) == ['compare.mp4']  # nothing else, nothing hidden
    assert video_info(out) == dict(frames=3, size=(COLUMN, (2 + 3) * COLUMN), fps=25.0,
                                   audio=1)
    assert audio_seconds(out) == pytest.approx(audio_seconds(setup['driving']), abs=AAC_FRAME)
    source = np.asarray(Image.open(SOURCE).convert('RGB'), float)
    titles = ['source', 'driving', 'cpabmm-lite', 'tpsmm_k10-lite_1xb8-20e_synthetic-64',
              'fomm_k10-lite_1xb8-20e_synthetic-64']
    for frame, driving in zip(decoded(out), setup['frames']):
        columns = [frame[:, i * COLUMN:(i + 1) * COLUMN].astype(float) for i in range(5)]
        for index, title in enumerate(titles):  # a black box with white text, top left
            top, left, bottom, right = label_box((COLUMN, COLUMN), title)
            box = columns[index][top:bottom, left:right]
            assert (box < 40).all(axis=2).mean() > 0.5 and (box > 200).all(axis=2).sum() >= 10
        outside = np.ones((COLUMN, COLUMN), bool)
        top, left, bottom, right = label_box((COLUMN, COLUMN), 'source')
        outside[:bottom + 2, :right + 2] = False  # the box, and the codec's blur around it
        # the source as it is (256x256 already), not a model's 64x64 view of it
        assert np.abs(luma(columns[0]) - luma(source))[outside].mean() < 2
        top, left, bottom, right = label_box((COLUMN, COLUMN), 'driving')
        outside[:] = True
        outside[:bottom + 2, :right + 2] = False
        assert np.abs(luma(columns[1]) - luma(driving))[outside].mean() < 2
        for index in (2, 3, 4):  # the models' results differ from each other
            assert np.abs(columns[index] - columns[(index - 1) % 3 + 2]).mean() > 2


def forbid_work(demo, monkeypatch):
    """Fail the test if the demo reads an input or builds a model."""
    for name in ('load_image', 'open_driving', 'load_model', 'build_model'):
        monkeypatch.setattr(demo, name,
                            lambda *args, name=name, **kwargs: pytest.fail(f'{name} called'))


BAD_COMPARISONS = {  # case: (models, extra arguments, the error)
    'one model': (['cpabmm-lite'], [], r'--compare needs at least two models, got 1'),
    'unknown zoo name': (['cpabmm-lite', 'tpsmm-lyte'], [],
                         r"unknown model 'tpsmm-lyte' \(close names: "),
    'config without checkpoint': (['cpabmm-lite', CONFIGS['fomm']], [],
                                  r'fomm_k10-lite_1xb8-20e_synthetic-64.py.* is no model: give '
                                  r'a model-zoo name .* or CONFIG.py:CHECKPOINT'),
    'missing checkpoint': (['cpabmm-lite', f'{CONFIGS["fomm"]}:nope.pth'], [],
                           r'no such checkpoint file nope.pth'),
    'with --model': (['cpabmm-lite', 'TPS'], ['--model', 'cpabmm-lite'],
                     r'--compare names every model .*; drop --model$'),
    'with --config and --checkpoint': (['cpabmm-lite', 'TPS'],
                                       ['--config', CONFIGS['fomm'], '--checkpoint', 'x.pth'],
                                       r'drop --config, --checkpoint$'),
    'with --side-by-side': (['cpabmm-lite', 'TPS'], ['--side-by-side'],
                            r'drop --side-by-side$'),
    'with --random-weights': (['cpabmm-lite', 'TPS'], ['--random-weights'],
                              r'drop --random-weights$'),
    'output is a folder': (['cpabmm-lite', 'TPS'], ['--output', 'FOLDER'],
                           r'--output .*: is a folder, not a file'),
}


@pytest.mark.parametrize('case', sorted(BAD_COMPARISONS))
def test_bad_comparison(demo, setup, tmp_path, capsys, monkeypatch, case):
    """One line, exit 2, before the inputs are read or a model is built, and
    nothing written."""
    models, extra, message = BAD_COMPARISONS[case]
    models = [setup['pairs']['tpsmm'] if model == 'TPS' else model for model in models]
    if 'FOLDER' in extra:
        (tmp_path / 'out' / 'folder.mp4').mkdir(parents=True)
        extra = [str(tmp_path / 'out' / 'folder.mp4') if arg == 'FOLDER' else arg
                 for arg in extra]
    forbid_work(demo, monkeypatch)
    before = sorted(tmp_path.rglob('*'))
    started = time.monotonic()
    assert run_compare(demo, setup, str(tmp_path / 'out' / 'compare.mp4'), models,
                       *extra) == 2
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith('error: '), err
    assert re.search(message, err), err
    assert sorted(tmp_path.rglob('*')) == before


def test_failure_mid_video_leaves_nothing(demo, setup, tmp_path, capsys):
    """A driving folder whose third frame is corrupt: the comparison was
    being written when it failed, yet no file (not even a temporary one)
    remains."""
    frames = tmp_path / 'frames'
    frames.mkdir()
    for index, frame in enumerate(setup['frames'] * 2):
        Image.fromarray(frame).save(frames / f'{index:04d}.png')
    (frames / '0002.png').write_bytes(b'truncated')
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    assert demo.main(['--source', SOURCE, '--driving', str(frames), '--output',
                      str(out_dir / 'compare.mp4'), '--device', 'cpu', '--compare',
                      setup['pairs']['fomm'], setup['pairs']['tpsmm']]) == 2
    assert '0002.png: not a readable image' in capsys.readouterr().err
    assert os.listdir(out_dir) == []
