"""tools/test.py end to end on small synthetic and cross-identity splits with
untrained models, and its one-line errors for bad input."""
import contextlib
import copy
import csv
import importlib.util
import io
import json
import os
import os.path as osp
import re
import socket
import subprocess
import sys

import av
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image

from cpabmm.utils.environment import child_environment
from cpabmm.registry import MODELS
from tests.datasets.media import astronaut_clip
from tests.runner_clock import same_second
from tests.tools.loading import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TPSMM = osp.join(ROOT, 'configs', 'tpsmm', 'tpsmm_k10-small_1xb8-20e_synthetic-64.py')
FOMM = osp.join(ROOT, 'configs', 'fomm', 'fomm_k10-small_1xb8-20e_synthetic-64.py')
VIDEOS, FRAMES = 2, 3
SMALL_SPLIT = [
    'test_dataloader.num_workers=0', f'test_dataloader.dataset.num_videos={VIDEOS}',
    f'test_dataloader.dataset.num_frames={FRAMES}', 'test_dataloader.batch_size=2'
]


def build_model(config: str) -> torch.nn.Module:
    init_default_scope('cpabmm')
    torch.manual_seed(0)
    return MODELS.build(Config.fromfile(config).model).eval()


def save_checkpoint(model: torch.nn.Module, path) -> str:
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


@pytest.fixture(scope='module')
def tpsmm(tmp_path_factory):
    """An untrained TPSMM (64x64) and its checkpoint."""
    model = build_model(TPSMM)
    return model, save_checkpoint(model, tmp_path_factory.mktemp('ckpt') / 'tpsmm.pth')


@pytest.fixture
def quiet_machine(tmp_path, monkeypatch):
    """One thread (the machine is shared) and an empty torch hub cache, so
    that LPIPS has no backbone weights."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tool_env(tmp_path, **extra) -> dict:
    """The tool's environment: this process's, with this tree first on
    PYTHONPATH, one thread, an empty torch hub cache (no LPIPS backbone)
    and, unless ``extra`` says otherwise, the CPU (so that its frames
    compare with the CPU model's to 8-bit rounding)."""
    env = child_environment(ROOT, OMP_NUM_THREADS='1', TORCH_HOME=str(tmp_path / 'torch_home'),
                            CUDA_VISIBLE_DEVICES='')
    env.update(extra)
    return env


def run_tool(tmp_path, *args, **env):
    return subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'test.py'), *args],
                          cwd=ROOT, env=tool_env(tmp_path, **env), capture_output=True,
                          text=True, timeout=600)


def write_config(tmp_path, text: str) -> str:
    path = tmp_path / 'config.py'
    path.write_text(f'_base_ = {TPSMM!r}\n{text}')
    return str(path)


def error_line(capsys) -> str:
    """The tool's error, checked to be a single line without a traceback."""
    err = capsys.readouterr().err
    assert 'Traceback' not in err
    lines = [line for line in err.splitlines() if line.startswith('error: ')]
    assert len(lines) == 1, err[-2000:]
    return lines[0]


def read_png(path) -> torch.Tensor:
    return torch.from_numpy(np.array(Image.open(path).convert('RGB'))).permute(2, 0, 1)


def frames_of_strip(strip: torch.Tensor, size: int) -> torch.Tensor:
    """``[3, H, T*W]`` uint8 to ``[T, 3, H, W]`` floats in [0, 1]."""
    return strip.float().div(255).unflatten(2, (-1, size)).permute(2, 0, 1, 3)


# ---------------------------------------------------------------- end to end
def test_reconstruction_end_to_end(tmp_path, tpsmm):
    """Every available metric in the JSON, the others skipped with the reason,
    a per-video table, strips and side-by-side videos; the generated frames
    are the model's animation of each frame from frame 0 of its video."""
    model, checkpoint = tpsmm
    out = tmp_path / 'results' / 'metrics.json'
    result = run_tool(tmp_path, TPSMM, checkpoint, '--work-dir', str(tmp_path / 'work'),
                      '--out', str(out), '--save-strips', str(tmp_path / 'strips'),
                      '--side-by-side', '1', '--cfg-options', *SMALL_SPLIT)
    assert result.returncode == 0, result.stderr[-3000:]
    # the progress bar: frames done of all, elapsed<remaining time
    assert re.search(rf'2/{VIDEOS * FRAMES} \[\d\d:\d\d<\d\d:\d\d', result.stderr)

    document = json.loads(out.read_text())
    metrics, skipped, meta = document['metrics'], document['skipped'], document['meta']
    breakdown = {f'{b}/{k}' for b in ('small', 'medium', 'large')
                 for k in ('frames', 'motion_px_min', 'motion_px_max', 'MotionError', 'L1',
                           'PSNR', 'SSIM')}
    assert set(metrics) == {'L1', 'PSNR', 'SSIM', 'MotionError'} | breakdown
    assert set(skipped) == {'LPIPS', 'AKD'}
    assert 'alexnet' in skipped['LPIPS'] and 'not found' in skipped['LPIPS']
    assert 'MotionError' in skipped['AKD']
    assert meta['protocol'] == 'reconstruction'
    assert (meta['videos'], meta['frames']) == (VIDEOS, VIDEOS * FRAMES)
    assert meta['checkpoint'] == checkpoint

    with open(tmp_path / 'results' / 'metrics_per_video.csv') as f:
        rows = list(csv.DictReader(f))
    assert [int(r['frames']) for r in rows] == [FRAMES] * VIDEOS
    assert set(rows[0]) == {'video_id', 'frames', 'L1', 'PSNR', 'SSIM', 'MotionError'}
    assert np.mean([float(r['L1']) for r in rows]) == pytest.approx(metrics['L1'])

    # The protocol, checked from the strips: frame k of every video is the
    # model's animation of frame 0 by frame k (frame 0 included), and L1 is
    # the mean over all frames of all videos.
    from cpabmm.datasets import SyntheticMotionDataset
    dataset = SyntheticMotionDataset(size=64, split='test', num_videos=VIDEOS,
                                     num_frames=FRAMES, test_mode=True)
    errors = []
    for row in rows:
        generated = frames_of_strip(read_png(tmp_path / 'strips' / 'generated' /
                                             f"{row['video_id']}.png"), 64)
        real = frames_of_strip(read_png(tmp_path / 'strips' / 'real' /
                                        f"{row['video_id']}.png"), 64)
        scene = dataset.scene(int(row['video_id'].rsplit('-', 1)[1]))
        frames = torch.stack([torch.from_numpy(scene.render(k, 64)).permute(2, 0, 1)
                              for k in range(FRAMES)]).float()
        with torch.no_grad():
            expected = model(dict(source=frames[:1].expand(FRAMES, -1, -1, -1),
                                  driving=frames), mode='predict')
        expected = torch.stack([r['prediction'] for r in expected])
        assert (generated - expected).abs().max() <= 1 / 255 + 1e-6
        assert (real - frames).abs().max() <= 0.5 / 255 + 1e-6
        errors.append((generated - real).abs().flatten(1).mean(1))
    assert torch.cat(errors).mean().item() == pytest.approx(metrics['L1'], abs=2e-3)

    videos = sorted(os.listdir(tmp_path / 'work' / 'side_by_side'))
    assert len(videos) == 2 and videos[0].startswith('best_1_') and \
        videos[1].startswith('worst_1_')
    with av.open(str(tmp_path / 'work' / 'side_by_side' / videos[0])) as container:
        decoded = [f.to_ndarray(format='rgb24') for f in container.decode(video=0)]
    assert len(decoded) == FRAMES and decoded[0].shape == (64, 3 * 64, 3)


def relative_animation_data(root) -> None:
    """Two identities, one three-frame clip each, as frame folders."""
    clips = {'alice#clip1': astronaut_clip(FRAMES, 64),
             'bob#clip1': astronaut_clip(FRAMES, 64)[:, ::-1, ::-1]}
    for name, frames in clips.items():
        folder = root / 'test' / name
        folder.mkdir(parents=True)
        for index, frame in enumerate(frames):
            Image.fromarray(np.ascontiguousarray(frame)).save(folder / f'{index:04d}.png')


def load_frames(folder) -> torch.Tensor:
    return torch.stack([read_png(folder / name) for name in sorted(os.listdir(folder))]) / 255


def test_cross_identity_animation_with_aed(tmp_path, tpsmm, quiet_machine):
    """Relative motion from the driving clip's frame 0, pairs from the
    cross-identity dataset, AED against the source identity."""
    model, checkpoint = tpsmm
    device = 'cuda' if torch.cuda.is_available() else 'cpu'  # where the runner animates
    model = copy.deepcopy(model).to(device)
    relative_animation_data(tmp_path / 'data')
    weights = tmp_path / 'colour_mean.pth'
    torch.save({'mix.weight': torch.eye(3).view(3, 3, 1, 1)}, weights)  # mean colour
    config = write_config(tmp_path, f"""
animation_dataset = dict(type='CrossIdentityDataset', data_root={str(tmp_path / 'data')!r},
                         num_pairs=2, seed=0, pipeline=[dict(type='PackFramePair')])
animation_evaluator = dict(type='AnimationEvaluator', metrics=[dict(
    type='AED', gt_key='source', embedder=dict(
        type='TorchEmbedder', network='tests.evaluation.helpers:ColourMean',
        weights={str(weights)!r}))])
test_dataloader = dict(num_workers=0, batch_size=2)
""")
    out = tmp_path / 'metrics.json'
    code = load_tool('test').main([config, checkpoint, '--protocol', 'animation', '--out', str(out),
                             '--work-dir', str(tmp_path / 'work')])
    assert code == 0
    document = json.loads(out.read_text())
    assert document['meta']['protocol'] == 'animation'
    assert document['meta']['frames'] == 2 * FRAMES
    assert document['skipped'] == {}

    with open(tmp_path / 'metrics_per_video.csv') as f:
        pairs = [row['video_id'].split('__') for row in csv.DictReader(f)]
    assert sorted(map(tuple, pairs)) == [('alice#clip1', 'bob#clip1'),
                                         ('bob#clip1', 'alice#clip1')]
    distances = []
    for source_name, driving_name in pairs:
        source = load_frames(tmp_path / 'data' / 'test' / source_name)[:1].to(device)
        driving = load_frames(tmp_path / 'data' / 'test' / driving_name).to(device)
        with torch.no_grad():
            results = model(dict(source=source.expand(FRAMES, -1, -1, -1), driving=driving,
                                 driving_initial=driving[:1].expand(FRAMES, -1, -1, -1)),
                            mode='predict')
        for result in results:
            generated = torch.nn.functional.normalize(result['prediction'].mean((1, 2)), dim=0)
            identity = torch.nn.functional.normalize(source[0].mean((1, 2)), dim=0)
            distances.append((generated - identity).square().sum().item())
    assert document['metrics']['AED'] == pytest.approx(np.mean(distances), rel=1e-3)


# ---------------------------------------------------------------- bad input
def test_checkpoint_of_another_model(tmp_path, capsys, quiet_machine):
    checkpoint = save_checkpoint(build_model(FOMM), tmp_path / 'fomm.pth')
    out = tmp_path / 'metrics.json'
    code = load_tool('test').main([TPSMM, checkpoint, '--out', str(out), '--work-dir',
                             str(tmp_path / 'work'), '--cfg-options', *SMALL_SPLIT])
    assert code == 1
    message = error_line(capsys)
    assert 'does not fit this ImageAnimator' in message and 'missing keys' in message
    assert 'keypoint_detector.' in message
    assert not out.exists()


#: a required metric that cannot run, and the error it stops the tool with
MISSING_LPIPS = ("dict(type='LPIPS', backbone_weights='/nonexistent/alexnet.pth')",
                 'LPIPS (alex) backbone weights not found: /nonexistent/alexnet.pth')


@pytest.mark.parametrize('metric,expected', [
    MISSING_LPIPS,
    ("dict(type='AKD', detector=dict(type='FaceAlignment68'))",
     'pip install face-alignment'),
])
def test_required_metric_that_cannot_run_stops_before_any_frame(
        tmp_path, tpsmm, capsys, quiet_machine, metric, expected):
    if 'FaceAlignment68' in metric and importlib.util.find_spec('face_alignment'):
        pytest.skip('face-alignment is installed')
    config = write_config(tmp_path, f'test_evaluator = dict(metrics=[dict(type="L1"), {metric}])')
    out = tmp_path / 'metrics.json'
    code = load_tool('test').main([config, tpsmm[1], '--out', str(out), '--work-dir',
                             str(tmp_path / 'work'), '--save-strips', str(tmp_path / 'strips'),
                             '--cfg-options', *SMALL_SPLIT])
    assert code == 1
    assert expected in error_line(capsys)
    assert not out.exists()
    assert not (tmp_path / 'strips').exists()  # nothing was animated


def test_two_runs_in_one_process_in_the_same_second(tmp_path, tpsmm, capsys, monkeypatch,
                                                    quiet_machine):
    """The second run of a config has a logger of its own: it does not write
    through the first run's console handler, whose stream is closed by now."""
    same_second(monkeypatch)
    metric, expected = MISSING_LPIPS
    config = write_config(tmp_path, f'test_evaluator = dict(metrics=[{metric}])')

    def run(name: str) -> int:
        return load_tool('test').main([config, tpsmm[1], '--work-dir', str(tmp_path / name),
                                       '--cfg-options', *SMALL_SPLIT])

    with contextlib.redirect_stdout(io.StringIO()) as first_stdout:
        assert run('first') == 1
    first_stdout.close()
    capsys.readouterr()
    assert run('second') == 1
    assert expected in error_line(capsys)


def test_test_split_without_videos(tmp_path, tpsmm, capsys, quiet_machine):
    (tmp_path / 'data' / 'test').mkdir(parents=True)
    config = write_config(tmp_path, f"""
test_dataloader = dict(num_workers=0, dataset=dict(
    _delete_=True, type='VideoFramesDataset', data_root={str(tmp_path / 'data')!r},
    test_mode=True, pipeline=[dict(type='PackFramePair')]))
""")
    out = tmp_path / 'metrics.json'
    code = load_tool('test').main([config, tpsmm[1], '--out', str(out),
                             '--work-dir', str(tmp_path / 'work')])
    assert code == 1
    assert 'no videos in the test split' in error_line(capsys)
    assert not out.exists()


def test_animation_protocol_needs_pairs(tmp_path, tpsmm, capsys):
    code = load_tool('test').main([TPSMM, tpsmm[1], '--protocol', 'animation',
                             '--work-dir', str(tmp_path)])
    assert code == 2
    assert 'has no animation_dataset' in error_line(capsys)


def test_animation_protocol_rejects_metrics_against_the_driving_frame(
        tmp_path, tpsmm, capsys, quiet_machine):
    relative_animation_data(tmp_path / 'data')
    config = write_config(tmp_path, f"""
animation_dataset = dict(type='CrossIdentityDataset', data_root={str(tmp_path / 'data')!r},
                         pipeline=[dict(type='PackFramePair')])
animation_evaluator = dict(type='AnimationEvaluator', metrics=[dict(type='L1')])
""")
    code = load_tool('test').main([config, tpsmm[1], '--protocol', 'animation',
                             '--work-dir', str(tmp_path / 'work')])
    assert code == 1
    assert 'L1 compares with the driving frame' in error_line(capsys)


@pytest.mark.parametrize('args,expected', [
    (['--cfg-options', 'test_dataloader.batch_sise=2'], "did you mean 'batch_size'"),
    (['--side-by-side', '-1'], '--side-by-side takes a count of videos'),
])
def test_command_line_errors(tmp_path, tpsmm, capsys, args, expected):
    code = load_tool('test').main([TPSMM, tpsmm[1], '--work-dir', str(tmp_path), *args])
    assert code == 2
    assert expected in error_line(capsys)


def test_missing_checkpoint(tmp_path, capsys):
    code = load_tool('test').main([TPSMM, str(tmp_path / 'nope.pth'), '--work-dir', str(tmp_path)])
    assert code == 2
    assert 'checkpoint not found' in error_line(capsys)


# ---------------------------------------------------------------- distributed
@pytest.mark.slow
def test_two_processes_give_the_single_process_metrics(tmp_path, tpsmm):
    """Frames spread over two gloo ranks (round_up=False), records merged by
    video: the same metrics as one process."""
    checkpoint = tpsmm[1]
    single = run_tool(tmp_path, TPSMM, checkpoint, '--work-dir', str(tmp_path / 'single'),
                      '--cfg-options', *SMALL_SPLIT)
    assert single.returncode == 0, single.stderr[-3000:]
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    distributed = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'dist_test.sh'), TPSMM, checkpoint, '2',
         '--work-dir', str(tmp_path / 'dist'), '--cfg-options', *SMALL_SPLIT],
        cwd=ROOT, env=tool_env(tmp_path, PORT=str(port), PYTHON=sys.executable),
        capture_output=True, text=True, timeout=600)
    assert distributed.returncode == 0, distributed.stderr[-3000:]
    one = json.loads((tmp_path / 'single' / 'metrics.json').read_text())
    two = json.loads((tmp_path / 'dist' / 'metrics.json').read_text())
    assert two['meta']['world_size'] == 2
    assert two['meta']['frames'] == one['meta']['frames'] == VIDEOS * FRAMES
    for name, value in one['metrics'].items():
        assert two['metrics'][name] == pytest.approx(value, rel=1e-5), name
    assert not osp.exists(osp.join(ROOT, '.dist_test'))


@pytest.mark.cuda
def test_reconstruction_on_cuda_agrees_with_the_cpu(tmp_path, tpsmm):
    """The same run on the GPU (metrics computed where the frames are) and on
    the CPU; random networks amplify rounding, so only roughly equal."""
    results = {}
    for device, visible in (('cpu', ''), ('cuda', os.environ.get('CUDA_VISIBLE_DEVICES', '0'))):
        out = tmp_path / f'{device}.json'
        result = run_tool(tmp_path, TPSMM, tpsmm[1], '--work-dir', str(tmp_path / device),
                          '--out', str(out), '--cfg-options', *SMALL_SPLIT,
                          CUDA_VISIBLE_DEVICES=visible)
        assert result.returncode == 0, result.stderr[-3000:]
        results[device] = json.loads(out.read_text())['metrics']
    assert set(results['cuda']) == set(results['cpu'])
    assert results['cuda']['L1'] == pytest.approx(results['cpu']['L1'], abs=5e-3)
    assert results['cuda']['MotionError'] == pytest.approx(results['cpu']['MotionError'], rel=0.05)
