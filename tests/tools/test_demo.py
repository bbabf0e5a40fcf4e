"""tools/demo.py on real media with the small synthetic-64 models (random
weights: the pictures are meaningless, the files and streams are checked)."""
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import av
import numpy as np
import pytest
from PIL import Image

from cpabmm.utils.environment import child_environment
from cpabmm.ops.cpab.function import backend_name
from tests.apis.clips import audio_seconds, captured_log, video_info, write_clip_with_tone
from tests.datasets.media import astronaut, carphone, carphone_path, write_folder
from tests.tools.loading import load_tool

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'demo.py')
AAC_FRAME = 1024 / 44100


def small_config(name: str) -> str:
    return osp.join(REPO, 'configs', name, f'{name}_k10-small_1xb8-20e_synthetic-64.py')


@pytest.fixture(scope='module')
def demo():
    return load_tool('demo')


@pytest.fixture(scope='module')
def media(tmp_path_factory):
    """A portrait, a 6-frame talking-head clip with a tone, a still pose."""
    root = tmp_path_factory.mktemp('media')
    Image.fromarray(astronaut()).save(root / 'portrait.png')
    frames = carphone(6)
    write_clip_with_tone(str(root / 'talk.mp4'), frames, fps=25)
    Image.fromarray(frames[5]).save(root / 'pose.jpg')
    return dict(source=str(root / 'portrait.png'), driving=str(root / 'talk.mp4'),
                pose=str(root / 'pose.jpg'), root=root)


def run_demo(demo, source, driving, output, *extra, model='tpsmm'):
    argv = ['--source', source, '--driving', driving, '--output', output,
            '--config', small_config(model), '--random-weights', '--device', 'cpu', *extra]
    return demo.main(argv)


def files_in(folder) -> list:
    return sorted(os.listdir(folder))  # hidden temporary files included


def test_video_with_audio_and_side_by_side(demo, media, tmp_path):
    out = str(tmp_path / 'result.mp4')
    with captured_log() as log:
        assert run_demo(demo, media['source'], media['driving'], out, '--side-by-side',
                        '--keypoints') == 0
    assert 'RANDOM WEIGHTS' in log.getvalue()
    assert files_in(tmp_path) == ['result.mp4', 'result_side_by_side.mp4']
    info = video_info(out)
    assert info == dict(frames=6, size=(64, 64), fps=25.0, audio=1)
    assert video_info(str(tmp_path / 'result_side_by_side.mp4')) == dict(
        frames=6, size=(256, 768), fps=25.0, audio=1)  # enlarged 4x to be seen
    for path in (out, str(tmp_path / 'result_side_by_side.mp4')):
        assert audio_seconds(path) == pytest.approx(audio_seconds(media['driving']),
                                                    abs=AAC_FRAME)
    assert audio_seconds(out) == pytest.approx(6 / 25, abs=2 * AAC_FRAME)


def test_side_by_side_shows_the_inputs(demo, media, tmp_path):
    """The first panel is the cropped portrait, the second the driving frame."""
    out = str(tmp_path / 'result.mp4')
    panels = str(tmp_path / 'panels.mkv')
    assert run_demo(demo, media['source'], media['pose'], out, '--side-by-side', panels,
                    '--mode', 'standard', '--crf', '0') == 0
    with av.open(panels) as container:
        (frame,) = [f.to_ndarray(format='rgb24') for f in container.decode(video=0)]
    frame = frame[::4, ::4]  # the 64-pixel panels are enlarged 4x, pixel by pixel
    portrait = np.asarray(Image.fromarray(astronaut()).resize((64, 64), Image.BOX))
    pose = np.asarray(Image.fromarray(carphone(6)[5][:, 16:160]).resize((64, 64), Image.BOX))
    assert np.abs(frame[:, :64].astype(float) - portrait).mean() < 6
    assert np.abs(frame[:, 64:128].astype(float) - pose).mean() < 6


def test_gif_has_no_audio(demo, media, tmp_path):
    out = str(tmp_path / 'result.gif')
    with captured_log() as log:
        assert run_demo(demo, media['source'], media['driving'], out, model='fomm') == 0
    assert 'GIF files hold no audio' in log.getvalue()
    assert video_info(out)['frames'] == 6


def test_frame_rate_change_keeps_the_duration(demo, media, tmp_path):
    """Half the frame rate: every other driving frame is animated."""
    out = str(tmp_path / 'nested' / 'folder' / 'result.mp4')  # folders are created
    assert run_demo(demo, media['source'], media['driving'], out, '--fps', '12.5',
                    model='cpabmm') == 0
    info = video_info(out)
    assert info['frames'] == 3 and info['fps'] == 12.5
    assert audio_seconds(out) == pytest.approx(audio_seconds(media['driving']), abs=AAC_FRAME)


def test_still_driving_picture(demo, media, tmp_path):
    out = str(tmp_path / 'result.mp4')
    with captured_log() as log:
        assert run_demo(demo, media['source'], media['pose'], out) == 0
    assert 'one driving frame in relative mode gives back the source' in log.getvalue()
    assert video_info(out) == dict(frames=1, size=(64, 64), fps=25.0, audio=0)


# --- bad input ------------------------------------------------------------------

def empty_mp4(path: str) -> str:
    with av.open(path, 'w') as container:
        stream = container.add_stream('libx264', rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 32, 'yuv420p'
        container.start_encoding()
    return path


BAD_INPUTS = {  # case: (settings changed from a good run, the error)
    'missing source': (lambda d: dict(source=str(d / 'nope.png')),
                       r'nope.png: no such image file; check the path'),
    'unreadable source': (lambda d: dict(source=str(d / 'broken.png')),
                          r'broken.png: not a readable image .*; replace'),
    'video without frames': (lambda d: dict(driving=empty_mp4(str(d / 'empty.mp4'))),
                             r'empty.mp4: no video frames; re-encode or remove it'),
    'missing driving': (lambda d: dict(driving=str(d / 'nope.mp4')),
                        r'nope.mp4: no such file or folder'),
    'unknown output type': (lambda d: dict(output=str(d / 'out' / 'result.avi')),
                            r"result.avi: cannot write video type '.avi'; use one of"),
    'no checkpoint': (lambda d: dict(weights=[]), r'--checkpoint is required'),
    'missing checkpoint': (lambda d: dict(weights=['--checkpoint', str(d / 'nope.pth')]),
                           r'nope.pth: no such checkpoint file'),
    'model size': (lambda d: dict(extra=['--size', '128']), r'this model takes 64x64 images'),
    'keypoints alone': (lambda d: dict(extra=['--keypoints']),
                        r'--keypoints draws on the side-by-side'),
    'output over an input': (lambda d: dict(output=empty_mp4(str(d / 'same.mp4')),
                                            driving=str(d / 'same.mp4')),
                             r'same.mp4: the output would overwrite an input'),
    'avd without network': (lambda d: dict(config=small_config('fomm'), extra=['--mode', 'avd']),
                            r'this model has no AVD network'),
    'side by side over the output': (
        lambda d: dict(extra=['--side-by-side', str(d / 'out' / 'result.mp4')]),
        r'--side-by-side .*result.mp4 is the --output file'),
}


@pytest.mark.parametrize('case', sorted(BAD_INPUTS))
def test_bad_input(demo, media, tmp_path, capsys, case):
    """A one-line error, exit status 2, and nothing written."""
    change, message = BAD_INPUTS[case]
    (tmp_path / 'broken.png').write_bytes(b'\x89PNG not really')
    out_dir = tmp_path / 'out'
    settings = dict(source=media['source'], driving=media['driving'],
                    output=str(out_dir / 'result.mp4'), config=small_config('tpsmm'),
                    weights=['--random-weights'], extra=[])
    settings.update(change(tmp_path))
    argv = ['--source', settings['source'], '--driving', settings['driving'], '--output',
            settings['output'], '--config', settings['config'], '--device', 'cpu',
            *settings['weights'], *settings['extra']]
    assert demo.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith('error: ')
    assert re.search(message, err), err
    assert not out_dir.exists() or files_in(out_dir) == []


def test_failure_mid_video_leaves_nothing(demo, media, tmp_path, capsys):
    """A driving folder whose fifth frame is corrupt: frames were being
    written when it failed, yet no output (not even a temporary file) remains."""
    folder = write_folder(str(tmp_path / 'frames'), carphone(8))
    with open(osp.join(folder, '0000004.png'), 'wb') as f:
        f.write(b'truncated')
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    assert run_demo(demo, media['source'], folder, str(out_dir / 'result.mp4'),
                    '--side-by-side') == 2
    assert '0000004.png: not a readable image' in capsys.readouterr().err
    assert files_in(out_dir) == []


def test_config_is_required(demo, media, tmp_path, capsys):
    assert demo.main(['--source', media['source'], '--driving', media['driving'],
                      '--output', str(tmp_path / 'r.mp4')]) == 2
    assert '--config is required' in capsys.readouterr().err


# --- as a user runs it ----------------------------------------------------------

@pytest.mark.slow
def test_talking_head_clip_end_to_end(tmp_path):
    """The whole carphone clip (120 frames, 176x144, 29.97 fps) driving the
    astronaut portrait (512x512), run as a separate process."""
    Image.fromarray(astronaut()).save(tmp_path / 'portrait.png')
    out = str(tmp_path / 'result.mp4')
    # one thread: the small model gains nothing from more, and they contend
    env = child_environment(REPO, OMP_NUM_THREADS='1')
    result = subprocess.run(
        [sys.executable, TOOL, '--source', str(tmp_path / 'portrait.png'), '--driving',
         carphone_path(), '--output', out, '--config', small_config('tpsmm'),
         '--random-weights'], capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr
    assert re.search(r'animating: 100%.* 120/120 .*\d+\.\d+ ?frame/s', result.stderr)  # progress
    info = video_info(out)
    assert info['frames'] == 120 and info['size'] == (64, 64) and info['audio'] == 0
    assert info['fps'] == pytest.approx(30000 / 1001)


def test_log_names_the_cpab_backend(demo, media, tmp_path):
    with captured_log() as log:
        assert run_demo(demo, media['source'], media['pose'], str(tmp_path / 'out.mp4'),
                        '--mode', 'standard', model='cpabmm') == 0
    assert f'CPAB op on cpu: {backend_name("cpu")}' in log.getvalue()


@pytest.mark.parametrize('signum, status', [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_mid_video_leaves_nothing(media, tmp_path, signum, status):
    """SIGTERM (what kill and job schedulers send) cleans up like Ctrl-C: the
    process is signalled while the hidden temporary video is being written,
    and exits with the shell's status leaving no file."""
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    carphone_clip = carphone_path()   # 120 frames: about 10 s of animation here
    process = subprocess.Popen(
        [sys.executable, TOOL, '--source', media['source'], '--driving', carphone_clip,
         '--output', str(out_dir / 'result.mp4'), '--config', small_config('tpsmm'),
         '--random-weights', '--device', 'cpu'],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env=child_environment(REPO, OMP_NUM_THREADS='1'),
        # a background job starts with SIGINT ignored, which Python keeps
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not files_in(out_dir) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert files_in(out_dir) and files_in(out_dir)[0].startswith('.result.mp4.')
        process.send_signal(signum)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == status, err
    assert err.rstrip().endswith('interrupted; no output was written')
    assert files_in(out_dir) == []
