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


# --- destinations: checked before any work, write failures in one line ----------

def forbid_work(demo, monkeypatch):
    """Fail the test if the demo reads an input or builds the model."""
    for name in ('load_image', 'open_driving', 'build_model'):
        monkeypatch.setattr(demo, name,
                            lambda *args, name=name, **kwargs: pytest.fail(f'{name} called'))


def folder(path) -> str:
    os.makedirs(path)
    return str(path)


def under_a_file(root) -> str:
    (root / 'afile').write_text('')
    return str(root / 'afile' / 'out.mp4')


BAD_DESTINATIONS = {  # case: (output, extra arguments, the error)
    'output is a folder': (lambda d: folder(d / 'out' / 'result.mp4'), [],
                           r'--output .*result.mp4: is a folder, not a file; give a file '
                           r'path'),
    'output is a folder without extension': (lambda d: folder(d / 'out'), [],
                                             r'--output .*out: is a folder, not a file'),
    'output under a regular file': (under_a_file, [],
                                    r'--output .*afile/out.mp4: .*afile is a file, not a folder; '
                                    'choose another path'),
    'output in /proc': (lambda d: '/proc/out.mp4', [],
                        r'--output /proc/out.mp4: cannot write in /proc \(.*\); choose a '
                        'writable folder'),
    'side by side is a folder': (lambda d: str(d / 'result.mp4'),
                                 ['--side-by-side', 'SBS'],
                                 r'--side-by-side .*panels.mp4: is a folder, not a file'),
    'side by side under a file': (lambda d: str(d / 'result.mp4'),
                                  ['--side-by-side', 'UNDER'],
                                  r'--side-by-side .*afile/out.mp4: .*afile is a file, not a folder'),
}


@pytest.mark.parametrize('case', sorted(BAD_DESTINATIONS))
def test_bad_destination_fails_before_the_model_is_built(demo, media, tmp_path, capsys,
                                                         monkeypatch, case):
    """One line, exit 2, before the inputs are read or the model built, and
    nothing left anywhere (the probe file is removed)."""
    make_output, extra, message = BAD_DESTINATIONS[case]
    output = make_output(tmp_path)
    substitutes = {'SBS': lambda: folder(tmp_path / 'panels.mp4'),
                   'UNDER': lambda: under_a_file(tmp_path)}
    extra = [substitutes[arg]() if arg in substitutes else arg for arg in extra]
    before = sorted(str(p) for p in tmp_path.rglob('*'))
    forbid_work(demo, monkeypatch)
    started = time.monotonic()
    assert run_demo(demo, media['source'], media['driving'], output, *extra) == 2
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith('error: '), err
    assert re.search(message, err), err
    assert sorted(str(p) for p in tmp_path.rglob('*')) == before


class FullDisk:
    """An output container whose disk fills up after ``packets`` packets:
    ``mux`` raises PyAV's error for ENOSPC, as a full disk does."""

    def __init__(self, container, path: str, packets: int) -> None:
        self._container, self._path, self._left = container, path, packets

    def mux(self, packet):
        if self._left == 0:
            raise av.error.OSError(28, 'No space left on device', self._path)
        self._left -= 1
        return self._container.mux(packet)

    def __getattr__(self, name):
        return getattr(self._container, name)


def fill_disk_after(monkeypatch, packets: int) -> None:
    """Every video opened for writing from now on fills the disk after
    ``packets`` packets (inputs are opened as usual)."""
    real_open = av.open

    def open_(path, mode='r', *args, **kwargs):
        container = real_open(path, mode, *args, **kwargs)
        return FullDisk(container, path, packets) if mode == 'w' else container
    monkeypatch.setattr(av, 'open', open_)


@pytest.mark.parametrize('driving, extra, packets', [
    ('driving', [], 2),  # fails copying the audio of the first frames
    ('driving', ['--side-by-side'], 2),
    ('pose', [], 0),  # no audio: fails when the encoder's buffered frames are flushed
])
def test_full_disk_mid_video_one_line_and_nothing_left(demo, media, tmp_path, capsys,
                                                       monkeypatch, driving, extra, packets):
    """ENOSPC while frames are written: exit 1, one line naming the output
    (not its temporary file), no temporary file and nothing at the output."""
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    out = str(out_dir / 'result.mp4')
    fill_disk_after(monkeypatch, packets)
    assert run_demo(demo, media['source'], media[driving], out, '--mode', 'standard',
                    *extra) == 1
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith('error: ')]
    assert 'Traceback' not in '\n'.join(err)
    assert len(errors) == 1 and re.fullmatch(
        rf'error: could not write {re.escape(str(out_dir))}/result(_side_by_side)?\.mp4: '
        'No space left on device', errors[0]), err
    assert files_in(out_dir) == []


def test_full_disk_at_the_final_flush_publishes_nothing(demo, media, tmp_path, capsys,
                                                        monkeypatch):
    """ENOSPC when the finished files are flushed to disk (fsync; where a
    full disk shows on some file systems): neither the output nor its
    side-by-side video is published, no temporary file remains."""
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    real_fsync = os.fsync
    synced = []

    def fsync(handle):
        synced.append(handle)
        if len(synced) == 2:  # the first video is complete, the second is not
            raise OSError(28, 'No space left on device')
        return real_fsync(handle)
    monkeypatch.setattr(os, 'fsync', fsync)
    assert run_demo(demo, media['source'], media['driving'], str(out_dir / 'result.mp4'),
                    '--side-by-side') == 1
    err = capsys.readouterr().err
    assert re.search(r'error: could not write .*result_side_by_side.mp4: No space left on '
                     'device', err), err
    assert files_in(out_dir) == []


def test_real_write_failure_inside_ffmpeg(media, tmp_path):
    """A limit on file sizes (RLIMIT_FSIZE) makes ffmpeg's own write fail
    (EFBIG) once the model runs: exit 1, one line, nothing left."""
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    out = str(out_dir / 'result.mp4')
    script = f"""
import resource, sys
sys.path.insert(0, {REPO!r})
from tests.tools.loading import load_tool
demo = load_tool('demo')
real_write = demo.write
def write(*args):
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    return real_write(*args)
demo.write = write
sys.exit(demo.main(['--source', {media['source']!r}, '--driving', {media['driving']!r},
                    '--output', {out!r}, '--config', {small_config('tpsmm')!r},
                    '--random-weights', '--device', 'cpu']))
"""
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                            env=child_environment(REPO, OMP_NUM_THREADS='1'), timeout=300)
    assert result.returncode == 1, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr
    assert result.stderr.rstrip().splitlines()[-1] == \
        f'error: could not write {out}: File too large'
    assert files_in(out_dir) == []
