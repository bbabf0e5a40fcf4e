"""cpabmm.webui.jobs: a web-app job with the bundled lite models on a short
cut of the bundled driving video with a tone; the checks of uploads, whose
messages are tools/demo.py's."""
import itertools
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from cpabmm.io import open_video, write_video
from cpabmm.webui import (COMPARISON_NAME, JobOptions, Limits, ModelCache, ResultStore,
                          find_choices, list_models, public_message, result_names, run_job)
from tests.apis.clips import audio_seconds, video_info, write_clip_with_tone
from tests.tools.loading import REPO, load_tool

SOURCE = osp.join(REPO, 'demo', 'source.png')
COLUMN = 256  # the 64-pixel models' frames enlarged 4x


@pytest.fixture(scope='module')
def frames() -> list:
    """The first three frames of the bundled driving video."""
    return list(itertools.islice(open_video(osp.join(REPO, 'demo', 'driving.mp4')), 3))


@pytest.fixture(scope='module')
def clip(frames, tmp_path_factory) -> str:
    """The three frames with a tone."""
    path = str(tmp_path_factory.mktemp('clip') / 'driving.mp4')
    return write_clip_with_tone(path, frames, fps=12)


@pytest.fixture(scope='module')
def choices():
    return list_models()


@pytest.fixture(scope='module')
def models():
    return ModelCache('cpu')


@pytest.fixture
def store(tmp_path):
    with ResultStore(parent=str(tmp_path)) as result_store:
        yield result_store


def test_job_writes_the_side_by_side_video_and_each_result(clip, choices, models, store):
    picked = find_choices(choices, ['fomm-lite', 'cpabmm-lite'])
    events = []
    result = run_job(picked, SOURCE, clip, JobOptions(keypoints=True), store, models,
                     progress=lambda *event: events.append(event))
    assert sorted(os.listdir(result.folder)) == sorted([COMPARISON_NAME, 'fomm-lite.mp4',
                                                        'cpabmm-lite.mp4'])
    assert result.video == osp.join(result.folder, COMPARISON_NAME)
    assert [osp.basename(path) for path in result.downloads] == [
        COMPARISON_NAME, 'fomm-lite.mp4', 'cpabmm-lite.mp4']
    assert video_info(result.video) == dict(frames=3, size=(COLUMN, 4 * COLUMN), fps=12.0,
                                            audio=1)
    assert video_info(result.downloads[1]) == dict(frames=3, size=(64, 64), fps=12.0, audio=1)
    assert audio_seconds(result.video) == pytest.approx(audio_seconds(clip), abs=0.05)
    assert (result.num_frames, result.fps, result.audio) == (3, 12.0, True)
    assert result.summary() == '3 frames at 12 fps, with the driving audio.'
    assert ('loading fomm-lite', 0, 2) in events and events[-1] == ('animating', 3, 3)
    assert osp.dirname(result.folder) == store.jobs
    # the models stay loaded for the next job
    assert models.get(picked[0]) is models.get(picked[0])


def test_options_notes_and_no_audio(frames, choices, models, store, tmp_path):
    driving = str(tmp_path / 'silent.mp4')
    write_video(driving, frames, fps=12)
    picked = find_choices(choices, ['fomm-lite'])
    limits = Limits(max_frames=3)
    result = run_job(picked, SOURCE, driving, JobOptions('standard', find_best_frame=True,
                                                         size='128', fit='pad'),
                     store, models, limits)
    assert result.num_frames == 3 and not result.audio
    assert result.summary().split('\n\n') == [
        '3 frames at 12 fps, without audio (the driving video has none).',
        'fomm-lite takes 64x64 images; the frame size applies to the models without a '
        'fixed size',
        'find best frame only changes relative mode; ignored in standard mode']


@pytest.fixture(scope='module')
def demo():
    return load_tool('demo')


def cli_error(demo, capsys, tmp_path, source: str, driving: str) -> str:
    """What tools/demo.py prints for these inputs (without the ``error: ``)."""
    capsys.readouterr()
    status = demo.main(['--source', source, '--driving', driving, '--model', 'fomm-lite',
                        '--device', 'cpu', '--output', str(tmp_path / 'out.mp4')])
    assert status == 2
    return capsys.readouterr().err.strip().splitlines()[-1].removeprefix('error: ')


@pytest.mark.parametrize('broken', ['source', 'driving'])
def test_bad_uploads_fail_with_the_cli_message(broken, demo, capsys, tmp_path, choices,
                                               models, store, clip):
    bad = tmp_path / ('upload.png' if broken == 'source' else 'upload.mp4')
    bad.write_bytes(b'not a picture, not a video')
    source, driving = (str(bad), clip) if broken == 'source' else (SOURCE, str(bad))
    expected = cli_error(demo, capsys, tmp_path, source, driving)
    assert str(bad) in expected
    with pytest.raises(ValueError) as error:
        run_job(find_choices(choices, ['fomm-lite']), source, driving, JobOptions(), store,
                models)
    assert str(error.value) == expected
    shown = public_message(error.value, {str(bad): 'my file' + bad.suffix})
    assert shown == expected.replace(str(bad), 'my file' + bad.suffix)
    assert str(tmp_path) not in shown
    assert os.listdir(store.jobs) == []


@pytest.mark.parametrize('limits, options, message', [
    (Limits(max_frames=2), JobOptions(), r'driving.mp4: 3 frames; this app takes driving '
     r'videos of up to 2 frames$'),
    (Limits(max_side=200), JobOptions(), r'source.png: a picture of 256x256 pixels; this app '
     r'takes up to 200 pixels a side$'),
    (Limits(max_upload_mb=0.01), JobOptions(), r'source.png: 0.1 MB; this app takes files of '
     r'up to 0.01 MB$'),
    (Limits(), JobOptions(mode='avd'), r'^fomm-lite has no AVD network; use mode relative or '
     r'standard$'),
    (Limits(), JobOptions(size='0x3'), r"^size must be N or HxW, got '0x3'$"),
    (Limits(), JobOptions(fit='zoom'), r"^fit must be one of \('crop', 'pad', 'stretch'\)"),
    (Limits(), JobOptions(mode='wild'), r'^mode must be one of'),
    (Limits(), JobOptions(find_best_frame=True), r'^no face found in the source image; '
     r'find_best_frame needs one'),
], ids=['frames', 'side', 'file size', 'avd', 'size', 'fit', 'mode', 'best frame'])
def test_limits_and_options(limits, options, message, choices, models, store, clip):
    with pytest.raises(ValueError, match=message):
        run_job(find_choices(choices, ['fomm-lite']), SOURCE, clip, options, store, models,
                limits)
    assert os.listdir(store.jobs) == []


def test_driving_frame_size_limit(choices, models, store, clip, tmp_path):
    small = str(tmp_path / 'small.png')
    Image.new('RGB', (64, 48)).save(small)
    with pytest.raises(ValueError, match=r'driving.mp4: frames of 256x256 pixels; this app '
                       r'takes up to 255 pixels a side$'):
        run_job(find_choices(choices, ['fomm-lite']), small, clip, JobOptions(), store,
                models, Limits(max_side=255, max_upload_mb=1))
    with pytest.raises(ValueError, match='--max-frames must be positive'):
        Limits(max_frames=0)
    assert Limits().describe() == ('Driving videos of up to 1000 frames; pictures and frames '
                                   'of up to 4096 pixels a side; files of up to 200 MB.')


def test_a_failure_while_writing_leaves_no_folder(monkeypatch, choices, models, store, clip):
    from cpabmm.apis import Comparison
    calls = []

    def failing_render(self, step, keypoints=False, labels=True):
        calls.append(step.index)
        if step.index == 1:
            raise ValueError('rendering failed')
        return np.zeros((COLUMN, 3 * COLUMN, 3), np.uint8)

    monkeypatch.setattr(Comparison, 'render', failing_render)
    with pytest.raises(ValueError, match='rendering failed'):
        run_job(find_choices(choices, ['fomm-lite']), SOURCE, clip, JobOptions(), store,
                models)
    assert calls == [0, 1] and os.listdir(store.jobs) == []


def test_messages_and_file_names():
    error = ValueError('/tmp/x/a b.png: not a readable image\n(second line)')
    assert public_message(error, {'/tmp/x/a b.png': 'a b.png'}) == (
        'a b.png: not a readable image (second line)')
    assert result_names(['fomm-lite', 'my model/1', 'comparison', 'my model:1', '..']) == [
        'fomm-lite.mp4', 'my_model_1.mp4', 'comparison_2.mp4', 'my_model_1_2.mp4',
        'model.mp4']
