"""cpabmm.apis.compare: several models animating one source in lockstep, and
the comparison frames (random-weight lite models on the bundled example)."""
import itertools
import os.path as osp

import numpy as np
import pytest
import torch

from cpabmm.apis import Animation, Comparison, init_model, resolve_model_specs
from cpabmm.apis.compare import resolve_model_spec
from cpabmm.apis.media import load_image, prepare_image
from cpabmm.evaluation.landmarks.base import LandmarkDetector
from cpabmm.io import open_video
from cpabmm.visualization import enlarge, label_box, to_uint8

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SOURCE = osp.join(REPO, 'demo', 'source.png')  # 256x256, like the driving video
CONFIGS = {name: osp.join(REPO, 'configs', name, f'{name}_k10-lite_1xb8-20e_synthetic-64.py')
           for name in ('tpsmm', 'fomm')}
COLUMN = 256  # 64-pixel models, enlarged 4x


def random_model(name: str, **cfg_options) -> torch.nn.Module:
    torch.manual_seed(0)
    return init_model(CONFIGS[name], cfg_options=cfg_options or None)


@pytest.fixture(scope='module')
def models():
    return [random_model('tpsmm'), random_model('fomm')]


@pytest.fixture(scope='module')
def frames() -> np.ndarray:
    """The first three frames of the bundled driving video, ``[3, 256, 256, 3]``."""
    video = open_video(osp.join(REPO, 'demo', 'driving.mp4'))
    return np.stack(list(itertools.islice(video.iter_frames(), 3)))


@pytest.fixture(scope='module')
def rendered(models, frames):
    """Each step's frame with labels, without, and with keypoints."""
    comparison = Comparison(models, ['tps', 'fomm'], SOURCE, frames)
    steps = list(comparison)
    return comparison, steps, [dict(labelled=comparison.render(step),
                                    plain=comparison.render(step, labels=False),
                                    keypoints=comparison.render(step, keypoints=True))
                               for step in steps]


def column(frame: np.ndarray, index: int, width: int = COLUMN) -> np.ndarray:
    return frame[:, index * width:(index + 1) * width]


def test_columns_show_the_inputs_and_each_model_as_if_alone(models, frames, rendered):
    comparison, steps, renders = rendered
    assert comparison.column_size == (COLUMN, COLUMN)
    assert [step.index for step in steps] == [0, 1, 2]
    source = load_image(SOURCE)
    for model_index, model in enumerate(models):
        alone = list(Animation(model, SOURCE, frames))
        for step, render, reference in zip(steps, renders, alone):
            np.testing.assert_array_equal(
                column(render['plain'], 2 + model_index),
                enlarge(to_uint8(reference.prediction), COLUMN))
    for step, render, driving in zip(steps, renders, frames):
        frame = render['plain']
        assert frame.shape == (COLUMN, 4 * COLUMN, 3) and frame.dtype == np.uint8
        # the inputs are 256x256 already: shown as they are, not via a model
        np.testing.assert_array_equal(column(frame, 0), source)
        np.testing.assert_array_equal(column(frame, 1), driving)


def test_batches_give_the_same_frames(models, frames, rendered):
    """Two driving frames at a time: the one copy of the driving stream each
    model reads stays in step with the others."""
    comparison, steps, _ = rendered
    batched = list(Comparison(models, ['tps', 'fomm'], SOURCE, frames, batch_size=2))
    assert [step.index for step in batched] == [0, 1, 2]
    for one, two in zip(steps, batched):
        np.testing.assert_array_equal(one.driving, two.driving)
        for a, b in zip(one.steps, two.steps):
            torch.testing.assert_close(a.prediction, b.prediction, atol=1e-5, rtol=0)


def test_labels_change_their_boxes_only(rendered):
    _, _, renders = rendered
    titles = ['source', 'driving', 'tps', 'fomm']
    for render in renders:
        for index, title in enumerate(titles):
            labelled, plain = column(render['labelled'], index), column(render['plain'], index)
            top, left, bottom, right = label_box((COLUMN, COLUMN), title)
            assert 10 <= bottom - top < COLUMN // 4 and 20 <= right - left < COLUMN // 2
            inside = np.zeros((COLUMN, COLUMN), bool)
            inside[top:bottom, left:right] = True
            np.testing.assert_array_equal(labelled[~inside], plain[~inside])
            box = labelled[inside]
            assert (box > 200).all(axis=1).sum() >= 10  # white text
            assert (box == 0).all(axis=1).mean() > 0.5  # on black


def test_keypoints_mark_the_model_columns_only(rendered):
    _, _, renders = rendered
    for render in renders:
        marked, labelled = render['keypoints'], render['labelled']
        np.testing.assert_array_equal(marked[:, :2 * COLUMN], labelled[:, :2 * COLUMN])
        for index in (2, 3):
            assert (column(marked, index) != column(labelled, index)).any(axis=2).sum() > 100


def test_models_of_other_sizes_get_frames_of_their_own(frames):
    """A model without a fixed size takes ``size``; the fixed one keeps its
    64x64. Columns are the largest model frame enlarged to 256 or more:
    whole multiples are enlarged pixel by pixel, others resized."""
    fixed, free = random_model('tpsmm'), random_model('fomm', **{'model.image_size': None})
    comparison = Comparison([fixed, free], ['64', 'free'], SOURCE, frames[:1], size=128)
    assert [a.size for a in comparison.animations] == [(64, 64), (128, 128)]
    assert comparison.column_size == (256, 256)
    (step,) = comparison
    assert step.steps[1].prediction.shape == (3, 128, 128)
    frame = comparison.render(step, labels=False)
    assert frame.shape == (256, 4 * 256, 3)
    np.testing.assert_array_equal(column(frame, 3),
                                  enlarge(to_uint8(step.steps[1].prediction), 256))

    comparison = Comparison([fixed, free], ['64', 'free'], SOURCE, frames[:1], size=96)
    assert comparison.column_size == (288, 288)  # 96 x 3; 64 does not divide 288
    (step,) = comparison
    frame = comparison.render(step, labels=False)
    assert frame.shape == (288, 4 * 288, 3)
    expected = prepare_image(step.steps[0].prediction, (288, 288), 'crop')[0]
    np.testing.assert_array_equal(column(frame, 2, 288), to_uint8(expected))


class ThirdFrameFace(LandmarkDetector):
    """Finds the source's face again in the driving frame 1 only."""
    name, num_points = 'stub', 4

    def __init__(self):
        self.calls = 0
        self.face = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)

    def detect(self, image):
        self.calls += 1
        if self.calls == 1:  # the source
            return self.face
        return self.face if self.calls == 3 else self.face * [1, 2]


def test_best_frame_is_searched_once_and_shared(models, frames):
    comparison = Comparison(models, ['tps', 'fomm'], SOURCE, frames)
    detector = ThirdFrameFace()
    assert comparison.search_initial_frame(detector) == 1
    assert detector.calls == 1 + len(frames)  # one pass, not one per model
    assert [a.initial_frame for a in comparison.animations] == [1, 1]
    assert comparison.initial_frame == 1
    (first, *_) = comparison
    alone = next(iter(Animation(models[1], SOURCE, frames, initial_frame=1)))
    np.testing.assert_array_equal(first.steps[1].prediction, alone.prediction)


def test_comparison_checks_its_arguments(models, frames):
    with pytest.raises(ValueError, match='one label per model: 2 models, 1 labels'):
        Comparison(models, ['one'], SOURCE, frames)
    with pytest.raises(ValueError, match='at least one model'):
        Comparison([], [], SOURCE, frames)


# --- naming the models ----------------------------------------------------------

def test_model_specs(tmp_path):
    a, b = tmp_path / 'epoch_10.pth', tmp_path / 'epoch_40.pth'
    a.write_bytes(b'not read here')
    b.write_bytes(b'not read here')
    zoo, tps, fomm = resolve_model_specs(
        [' cpabmm-lite ', f'{CONFIGS["tpsmm"]}:{a}', f'{CONFIGS["fomm"]}:{b}'])
    assert zoo.label == 'cpabmm-lite' and zoo.config.endswith(
        'cpabmm_k10-lite_1xb8-20e_synthetic-64.py')
    assert osp.basename(zoo.checkpoint) == 'cpabmm_k10-lite_synthetic-64.pth'
    assert (tps.label, tps.config, tps.checkpoint) == (
        'tpsmm_k10-lite_1xb8-20e_synthetic-64', CONFIGS['tpsmm'], str(a))
    assert fomm.label == 'fomm_k10-lite_1xb8-20e_synthetic-64'
    # one config, two checkpoints: the columns tell them apart
    labels = [spec.label for spec in resolve_model_specs(
        [f'{CONFIGS["tpsmm"]}:{a}', f'{CONFIGS["tpsmm"]}:{b}'])]
    assert labels == ['tpsmm_k10-lite_1xb8-20e_synthetic-64 (epoch_10)',
                      'tpsmm_k10-lite_1xb8-20e_synthetic-64 (epoch_40)']


@pytest.mark.parametrize('spec, message', [
    ('cpabmm-lyte', r"unknown model 'cpabmm-lyte' \(close names: .*cpabmm-lite"),
    (CONFIGS['tpsmm'], r'is no model: give a model-zoo name .* or CONFIG.py:CHECKPOINT'),
    ('model.pth', r"unknown model 'model.pth'"),
    (f'{CONFIGS["tpsmm"]}:nope.pth', r'no such checkpoint file nope.pth'),
    ('nope.py:nope.pth', r'no such config file nope.py'),
])
def test_bad_model_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        resolve_model_spec(spec)
