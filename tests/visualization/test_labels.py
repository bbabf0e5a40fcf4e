"""Column titles, panel rows and the common panel size of comparison frames."""
import numpy as np
import pytest

from cpabmm.visualization import (draw_label, enlarge, label_box, panel_row, preview_size,
                                  side_by_side)
from cpabmm.visualization.labels import ELLIPSIS, _layout


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.argwhere((a != b).any(axis=2))


@pytest.mark.parametrize('size', [(256, 256), (64, 64), (256, 96), (20, 300)])
@pytest.mark.parametrize('text', ['source', 'tpsmm_k10-lite_1xb8-20e_synthetic-64 (epoch_10)'])
def test_a_label_changes_its_box_only(size, text):
    image = np.full((*size, 3), 120, np.uint8)
    out = draw_label(image, text)
    top, left, bottom, right = label_box(size, text)
    assert (top, left) == (0, 0) and 0 < bottom <= size[0] and 0 < right <= size[1]
    rows, cols = changed(out, image).T
    assert rows.max() < bottom and cols.max() < right  # nothing outside the box
    box = out[top:bottom, left:right]
    assert (box > 200).all(axis=2).sum() >= 10 and (box == 0).all(axis=2).mean() > 0.5
    assert np.all(image == 120)  # the input is left alone


def test_long_labels_shrink_then_lose_their_middle():
    text = 'tpsmm_k10-lite_1xb8-20e_synthetic-64'
    wide = _layout((256, 1024), text)
    assert wide.text == text and wide.scale == pytest.approx(0.5)
    fitted = _layout((256, 256), text)  # shrunk to fit, whole
    assert fitted.text == text and fitted.scale < 0.5
    narrow = _layout((256, 128), text)  # both ends kept
    assert ELLIPSIS in narrow.text and narrow.text.startswith('tpsmm')
    assert narrow.text.endswith('64') and narrow.box[3] <= 128
    assert _layout((64, 64), 'naïve').text == 'na?ve'  # Hershey fonts are ASCII


def test_panel_row_marks_titles_and_enlarges():
    a, b = np.full((32, 32, 3), 10, np.uint8), np.full((32, 32, 3), 200, np.uint8)
    plain = panel_row([a, b])
    np.testing.assert_array_equal(plain, side_by_side([a, b]))
    titled = panel_row([a, b], labels=[None, 'b'])
    np.testing.assert_array_equal(titled[:, :32], a)
    np.testing.assert_array_equal(titled[:, 32:], draw_label(b, 'b'))
    marked = panel_row([a, b], keypoints=[np.zeros((1, 2)), None])
    assert (marked[16, 16] != 10).any() and (marked[:, 32:] == 200).all()
    big = panel_row([a, b], labels=['a', 'b'], min_size=64)  # enlarged, then titled
    np.testing.assert_array_equal(big[:, :64], draw_label(enlarge(a, 64), 'a'))
    with pytest.raises(ValueError, match=r'labels must hold one entry per panel \(2\), got 1'):
        panel_row([a, b], labels=['a'])


def test_preview_size_is_the_largest_frame_enlarged():
    assert preview_size([(64, 64)]) == (256, 256)
    assert preview_size([(64, 64), (96, 96)]) == (288, 288)
    assert preview_size([(64, 64), (384, 512)]) == (384, 512)
    assert preview_size([(256, 256)], min_size=0) == (256, 256)
    with pytest.raises(ValueError, match='at least one size'):
        preview_size([])
