"""Bringing pictures and driving videos to the model's size and form."""
from fractions import Fraction

import numpy as np
import pytest
import torch
from PIL import Image

from cpabmm.apis.media import (fit_image, frame_repeats, load_image, open_driving,
                               prepare_image, to_float_rgb)
from cpabmm.io import VideoError
from cpabmm.visualization import to_uint8
from tests.datasets.media import astronaut, astronaut_clip, carphone_path, write_folder


def three_bands(height=100, width=200) -> np.ndarray:
    """Red | green | blue vertical bands: a quarter, a half, a quarter."""
    image = np.zeros((height, width, 3), np.float32)
    image[:, :width // 4, 0] = 1
    image[:, width // 4:3 * width // 4, 1] = 1
    image[:, 3 * width // 4:, 2] = 1
    return image


def test_crop_keeps_the_centre():
    out = fit_image(three_bands(), (64, 64), 'crop')
    assert out.shape == (64, 64, 3)
    # the centred 100x100 window is the green half exactly
    np.testing.assert_allclose(out, np.broadcast_to([0, 1, 0], out.shape), atol=1e-6)


def test_pad_keeps_everything_with_black_borders():
    out = fit_image(three_bands(), (64, 64), 'pad')
    # 200x200 with 50 black rows above and below, shrunk by 200/64
    assert np.all(out[:15] == 0) and np.all(out[-15:] == 0)
    middle = out[32]
    assert middle[2, 0] == pytest.approx(1) and middle[32, 1] == pytest.approx(1)
    assert middle[-3, 2] == pytest.approx(1)


def test_stretch_keeps_every_band():
    out = fit_image(three_bands(), (64, 64), 'stretch')
    assert out[:, 2, 0].min() == pytest.approx(1) and out[:, -3, 2].min() == pytest.approx(1)


def test_same_size_is_unchanged_and_results_stay_in_range():
    image = np.random.default_rng(0).random((64, 48, 3), dtype=np.float32)
    for fit in ('crop', 'pad', 'stretch'):
        np.testing.assert_array_equal(fit_image(image, (64, 48), fit), image)
    enlarged = fit_image(image, (128, 96), 'crop')  # bicubic overshoots: clipped
    assert enlarged.shape == (128, 96, 3) and 0 <= enlarged.min() and enlarged.max() <= 1
    with pytest.raises(ValueError, match="fit must be one of .*, got 'zoom'"):
        fit_image(image, (64, 64), 'zoom')


def test_channel_forms():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    rgb = to_float_rgb(gray)
    assert rgb.shape == (3, 4, 3) and np.all(rgb[..., 0] == rgb[..., 2])
    assert rgb[0, 1, 0] == pytest.approx(20 / 255)
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = [255, 0, 0, 255]  # opaque red stays red
    rgba[1, 1] = [255, 0, 0, 0]    # transparent: the white background
    out = to_float_rgb(rgba)
    np.testing.assert_allclose(out[0, 0], [1, 0, 0])
    np.testing.assert_allclose(out[1, 1], [1, 1, 1])
    np.testing.assert_allclose(to_float_rgb(np.full((2, 2), 65535, np.uint16)), 1.0)


def test_tensors_pass_exactly():
    tensor = torch.rand(1, 3, 64, 64)
    assert torch.equal(prepare_image(tensor, (64, 64)), tensor)
    assert torch.equal(prepare_image(tensor[0], (64, 64)), tensor)
    with pytest.raises(ValueError, match=r'image tensors must be \[C, H, W\]'):
        prepare_image(torch.rand(2, 3, 8, 8), (8, 8))


def test_uint8_round_trip():
    frame = astronaut_clip(1, 32)[0]
    np.testing.assert_array_equal(to_uint8(prepare_image(frame, (32, 32))[0]), frame)


def test_photo_files(tmp_path):
    """EXIF orientation is applied; palette transparency is composited."""
    portrait = astronaut()[:, :400]  # 512 rows, 400 columns
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display turned 90 degrees clockwise
    Image.fromarray(portrait).save(tmp_path / 'phone.jpg', exif=exif)
    assert load_image(str(tmp_path / 'phone.jpg')).shape == (400, 512, 3)
    palette = Image.fromarray(np.zeros((4, 4), np.uint8), 'P')
    palette.putpalette([0, 0, 0] * 256)
    palette.save(tmp_path / 'clear.png', transparency=0)
    np.testing.assert_array_equal(load_image(str(tmp_path / 'clear.png')), 255)


def test_unusable_pictures(tmp_path):
    with pytest.raises(VideoError, match='nope.png: no such image file; check the path'):
        load_image(str(tmp_path / 'nope.png'))
    (tmp_path / 'bad.png').write_bytes(b'not a picture')
    with pytest.raises(VideoError, match=r'bad.png: not a readable image \(.*\); replace'):
        load_image(str(tmp_path / 'bad.png'))


# --- driving videos -------------------------------------------------------------

def test_driving_forms(tmp_path):
    video = open_driving(carphone_path())
    assert video.num_frames == 120 and video.fps == pytest.approx(30000 / 1001)
    assert video.path == carphone_path()
    streamed = iter(video)
    for _ in range(3):
        next(streamed)
    np.testing.assert_array_equal(video.read(3), next(streamed))
    streamed.close()
    frames = astronaut_clip(4, 32)
    folder = open_driving(write_folder(str(tmp_path / 'v'), frames))
    np.testing.assert_array_equal(folder.read(2), frames[2])
    np.testing.assert_array_equal(list(folder)[3], frames[3])
    Image.fromarray(frames[0]).save(tmp_path / 'still.png')
    still = open_driving(str(tmp_path / 'still.png'))
    assert still.num_frames == 1 and len(list(still)) == 1
    array = open_driving(frames)
    assert array.num_frames == 4 and array.reopenable
    np.testing.assert_array_equal(array.read(1), frames[1])


def test_one_shot_iterators(tmp_path):
    video = open_driving(iter(astronaut_clip(3, 32)))
    assert video.num_frames is None and not video.reopenable
    assert len(list(video)) == 3
    with pytest.raises(ValueError, match='one-shot iterator and was read already'):
        iter(video)


def test_unusable_driving(tmp_path):
    with pytest.raises(VideoError, match='missing.mp4: no such file or folder'):
        open_driving(str(tmp_path / 'missing.mp4'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(VideoError, match='empty: frame folder holds no frames'):
        open_driving(str(tmp_path / 'empty'))
    with pytest.raises(ValueError, match=r'a driving array must be \[T, H, W, C\]'):
        open_driving(np.zeros((8, 8, 3)))
    with pytest.raises(IndexError, match='driving frame 5 does not exist'):
        open_driving(astronaut_clip(2, 32)).read(5)


@pytest.mark.parametrize('fps,new_fps,count', [(30, 25, 30), (25, 50, 7), (30000 / 1001, 25, 120),
                                               (25, 25, 10), (50, 10, 3)])
def test_frame_rate_change_keeps_time(fps, new_fps, count):
    """Output frame j shows the driving frame on screen at time j / new_fps,
    and the output lasts as long as the input (to the nearest frame)."""
    repeats = frame_repeats(count, fps, new_fps)
    shown = np.repeat(np.arange(count), repeats)  # driving frame of each output frame
    assert len(shown) == max(1, round(count * new_fps / fps))
    fps = Fraction(fps).limit_denominator(1001)
    for j, index in enumerate(shown):
        time = Fraction(j) / Fraction(new_fps)
        assert index == min(count - 1, int(time * fps))


def test_resampled_video_skips_and_repeats():
    frames = astronaut_clip(6, 32)
    video = open_driving(frames)
    video.fps = 30
    half, repeats = video.resample(15)
    assert repeats == [1, 1, 1] and half.num_frames == 3 and half.fps == 15
    np.testing.assert_array_equal(np.stack(list(half)), frames[::2])
    np.testing.assert_array_equal(half.read(2), frames[4])
    double, repeats = video.resample(60)
    assert repeats == [2] * 6 and double.num_frames == 6
