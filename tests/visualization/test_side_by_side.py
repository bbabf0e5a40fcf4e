"""Keypoint dots and side-by-side frames."""
import numpy as np
import pytest

from cpabmm.visualization import (animation_panels, draw_keypoints, keypoint_colors,
                                  keypoints_to_pixels, side_by_side)


def test_keypoint_coordinates_follow_align_corners():
    """-1 and 1 are the centres of the first and last pixels, x first."""
    pixels = keypoints_to_pixels(np.array([[-1, -1], [1, 1], [1, -1], [0, 0]]), (33, 65))
    np.testing.assert_allclose(pixels, [[0, 0], [64, 32], [64, 0], [32, 16]])


def test_dots_land_on_the_keypoints():
    image = np.full((65, 65, 3), 40, np.uint8)
    points = np.array([[-0.5, -0.5], [0.5, 0.25]])
    colors = np.array([[255, 0, 0], [0, 0, 255]], np.uint8)
    out = draw_keypoints(image, points, colors, radius=3)
    np.testing.assert_array_equal(out[16, 16], [255, 0, 0])  # (x, y) = (16, 16)
    np.testing.assert_array_equal(out[40, 48], [0, 0, 255])  # (x, y) = (48, 40)
    changed = np.argwhere(np.any(out != 40, axis=2))
    # nothing drawn farther than the radius (plus antialiasing) from a dot
    centres = np.array([[16, 16], [40, 48]])
    distance = np.min(np.linalg.norm(changed[:, None] - centres[None], axis=2), axis=1)
    assert distance.max() <= 4.5
    assert np.all(image == 40)  # the input is left alone


def test_colours_are_distinct_and_stable():
    colors = keypoint_colors(10)
    assert colors.shape == (10, 3) and colors.dtype == np.uint8
    assert len({tuple(c) for c in colors}) == 10
    np.testing.assert_array_equal(keypoint_colors(10), colors)


def test_panels():
    a, b, c = (np.full((32, 32, 3), v, np.uint8) for v in (10, 20, 30))
    frame = animation_panels(a, b, c)
    assert frame.shape == (32, 96, 3)
    assert frame[0, 0, 0] == 10 and frame[0, 40, 0] == 20 and frame[0, 90, 0] == 30
    points = np.zeros((5, 2))
    marked = animation_panels(a, b, c, [points, points, points])
    for left in (0, 32, 64):  # a dot at the centre of each panel
        assert np.any(marked[16, left + 16] != frame[16, left + 16])
    big = animation_panels(a, b, c, min_size=70)  # enlarged 3x, pixel by pixel
    assert big.shape == (96, 288, 3)
    np.testing.assert_array_equal(big[::3, ::3], frame)
    np.testing.assert_array_equal(big[1::3, 2::3], frame)
    assert animation_panels(a, b, c, min_size=32).shape == frame.shape
    with pytest.raises(ValueError, match='panels must have one height'):
        side_by_side([a, np.zeros((16, 32, 3), np.uint8)])
    with pytest.raises(ValueError, match=r'keypoints must be \[K, 2\]'):
        draw_keypoints(a, np.zeros((5, 3)))
