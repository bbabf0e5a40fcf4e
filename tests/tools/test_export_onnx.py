"""tools/export_onnx.py and tools/demo.py --backend onnxruntime on the bundled
CPABMM checkpoint (64 px, its CPAB fit kept in PyTorch between the graphs)
and the bundled example; the numerical agreement of every family is
tests/deploy/test_onnx.py's."""
import json
import os
import os.path as osp
import shutil

import pytest
import torch

from cpabmm.apis import OnnxAnimator, animate, init_model
from cpabmm.zoo import resolve_model
from cpabmm.apis import open_driving
from tests.apis.clips import video_info, write_clip_with_tone
from tests.tools.loading import load_tool

pytest.importorskip('onnxruntime', reason='the onnx extra is part of the test set-up')

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SOURCE = osp.join(REPO, 'demo', 'source.png')
DRIVING = osp.join(REPO, 'demo', 'driving.mp4')


@pytest.fixture(scope='module')
def tools():
    return load_tool('export_onnx'), load_tool('demo')


@pytest.fixture(scope='module')
def bundled():
    return resolve_model('cpabmm-lite', progress=False)


@pytest.fixture(scope='module')
def short_driving(tmp_path_factory):
    """The first 6 frames of the bundled driving video, with a tone."""
    video = open_driving(DRIVING)
    frames = [frame for _, frame in zip(range(6), video)]
    path = str(tmp_path_factory.mktemp('clip') / 'driving.mp4')
    write_clip_with_tone(path, frames, fps=video.fps)
    return path


@pytest.fixture(scope='module')
def exported(tools, bundled, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('onnx') / 'cpabmm-lite')
    assert tools[0].main([*bundled, out, '--dynamic-batch']) == 0
    return out


def test_export_writes_the_graphs_and_manifest(exported, bundled):
    with open(osp.join(exported, 'animator.json')) as file:
        manifest = json.load(file)
    assert sorted(os.listdir(exported)) == ['animator.json', 'dense_motion.onnx',
                                            'generator.onnx', 'keypoints.onnx']
    assert manifest['image_size'] == [64, 64]
    assert manifest['motion']['in_graph'] is False
    assert manifest['motion']['config']['type'] == 'CPABMotion'
    assert manifest['graphs']['dense_motion']['inputs'][-1] == 'warps'
    assert manifest['source']['checkpoint'] == osp.basename(bundled[1])
    assert manifest['dynamic_batch'] is True


def test_demo_with_onnxruntime(tools, exported, bundled, short_driving, tmp_path):
    """The demo writes every frame, with the audio; the frames equal
    PyTorch's (before encoding) to the float32 noise floor, also animated
    in batches by the graphs exported for any batch size."""
    out = str(tmp_path / 'onnx.mp4')
    argv = ['--backend', 'onnxruntime', '--onnx', exported, '--source', SOURCE,
            '--driving', short_driving, '--output', out, '--batch-size', '4']
    assert tools[1].main(argv) == 0
    frames = video_info(short_driving)['frames']
    assert video_info(out)['frames'] == frames and video_info(out)['audio'] == 1

    model = init_model(*bundled)
    expected = torch.stack(list(animate(model, SOURCE, short_driving, output='tensor')))
    actual = torch.stack(list(animate(OnnxAnimator(exported), SOURCE, short_driving,
                                      batch_size=4, output='tensor')))
    assert actual.shape == expected.shape == (frames, 3, 64, 64)
    assert (actual - expected).abs().mean().item() < 1e-3


@pytest.mark.parametrize('extra,message', [
    ([], '--backend onnxruntime needs --onnx DIR'),
    (['--onnx', '{export}', '--model', 'cpabmm-lite'], 'drop --model'),
    (['--onnx', '{export}', '--compile'], 'drop --compile'),
])
def test_demo_backend_option_errors(tools, exported, tmp_path, capsys, extra, message):
    argv = ['--backend', 'onnxruntime', '--source', SOURCE, '--driving', DRIVING,
            '--output', str(tmp_path / 'x.mp4')] + [a.format(export=exported) for a in extra]
    assert tools[1].main(argv) == 2
    assert message in capsys.readouterr().err
    assert not os.listdir(tmp_path)


def test_demo_onnx_needs_its_backend(tools, exported, tmp_path, capsys):
    argv = ['--onnx', exported, '--source', SOURCE, '--driving', DRIVING,
            '--output', str(tmp_path / 'x.mp4')]
    assert tools[1].main(argv) == 2
    assert 'add --backend onnxruntime' in capsys.readouterr().err


def test_altered_or_missing_exports_are_refused(tools, exported, tmp_path, capsys):
    def run(folder):
        argv = ['--backend', 'onnxruntime', '--onnx', str(folder), '--source', SOURCE,
                '--driving', DRIVING, '--output', str(tmp_path / 'x.mp4')]
        assert tools[1].main(argv) == 2
        return capsys.readouterr().err

    assert 'no ONNX export here' in run(tmp_path / 'nothing')
    altered = tmp_path / 'altered'
    shutil.copytree(exported, altered)
    with open(altered / 'generator.onnx', 'r+b') as file:
        file.seek(100)
        file.write(b'\0')
    assert 'does not match the SHA-256' in run(altered)
    assert not (tmp_path / 'x.mp4').exists()


@pytest.mark.parametrize('extra,message', [
    (['--size', '100'], 'sides must be multiples of'),
    (['--opset', '15'], 'has no GridSample'),
])
def test_export_option_errors(tools, bundled, tmp_path, capsys, extra, message):
    out = tmp_path / 'out'
    assert tools[0].main([*bundled, str(out), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_export_input_errors(tools, bundled, tmp_path, capsys):
    assert tools[0].main([bundled[0], str(tmp_path / 'none.pth'), str(tmp_path / 'a')]) == 2
    assert 'no such checkpoint file' in capsys.readouterr().err
    (tmp_path / 'file').write_text('')
    assert tools[0].main([*bundled, str(tmp_path / 'file')]) == 2
    assert 'is a file, not a folder' in capsys.readouterr().err
