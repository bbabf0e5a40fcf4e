"""Images read by their real bit depth: 16-bit files are scaled by 65535
(never guessed from their values, never cut to 8 bits), 8-bit ones by 255,
through the demo's source-picture path and the dataset's frame path."""
import cv2
import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from cpabmm.apis.media import load_image, prepare_image
from cpabmm.datasets import VideoFramesDataset
from cpabmm.io import open_video, read_image, to_unit_float
from cpabmm.io.images import _orient

H, W = 6, 8


def gray16(value_range) -> np.ndarray:
    rng = np.random.default_rng(sum(value_range))
    return rng.integers(*value_range, size=(H, W), endpoint=True).astype(np.uint16)


def write_gray16(path, values: np.ndarray) -> None:
    image = Image.fromarray(values)  # PIL: mode I;16, a 16-bit grayscale PNG
    assert image.mode == 'I;16'
    image.save(path)


def write_rgb16(path, rgb: np.ndarray) -> None:
    assert cv2.imwrite(str(path), rgb[..., ::-1])  # OpenCV writes BGR
    with Image.open(path) as image:  # what PIL makes of it: 8-bit RGB
        assert image.mode == 'RGB' and image.tile[0][3] == 'RGB;16B'


def write_rgb8(path, rgb: np.ndarray) -> None:
    Image.fromarray(rgb).save(path)


def rgb16() -> np.ndarray:
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 65535, size=(H, W, 3), endpoint=True).astype(np.uint16)
    rgb[0, 0] = [200, 300, 100]  # a dark pixel: its 8-bit cut would be black
    return rgb


def rgb8() -> np.ndarray:
    return np.random.default_rng(8).integers(0, 255, size=(H, W, 3), endpoint=True,
                                             dtype=np.uint8)


#: name: (writes the file, the values written as RGB floats in [0, 1])
CASES = {
    'dark 16-bit gray': (lambda p, v: write_gray16(p, v), gray16((0, 200)), 65535),
    'bright 16-bit gray': (lambda p, v: write_gray16(p, v), gray16((60000, 65535)), 65535),
    '16-bit RGB': (lambda p, v: write_rgb16(p, v), rgb16(), 65535),
    '8-bit RGB': (lambda p, v: write_rgb8(p, v), rgb8(), 255),
}


def expected_floats(values: np.ndarray, white: int) -> np.ndarray:
    floats = values.astype(np.float64) / white
    return np.repeat(floats[..., None], 3, axis=2) if floats.ndim == 2 else floats


@pytest.mark.parametrize('case', sorted(CASES))
def test_demo_source_picture_keeps_the_bit_depth(tmp_path, case):
    """tools/demo.py reads --source with load_image and hands the array to
    Animation, which prepares it with prepare_image."""
    write, values, white = CASES[case]
    path = str(tmp_path / 'source.png')
    write(path, values)
    picture = load_image(path)
    tensor = prepare_image(picture, (H, W))  # the model's size: no resampling
    assert tensor.dtype == torch.float32 and tensor.shape == (1, 3, H, W)
    got = tensor[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(got, expected_floats(values, white), rtol=0, atol=1e-6)
    np.testing.assert_allclose(prepare_image(path, (H, W)), tensor, rtol=0, atol=0)


@pytest.mark.parametrize('case', sorted(CASES))
def test_dataset_frames_keep_the_bit_depth(tmp_path, case):
    """VideoFramesDataset over frame folders: frames read by cpabmm.io and
    packed into float tensors by PackFramePair."""
    write, values, white = CASES[case]
    frames = [values, (values // 2).astype(values.dtype), (values // 3).astype(values.dtype)]
    folder = tmp_path / 'data' / 'train' / 'video'
    folder.mkdir(parents=True)
    for index, frame in enumerate(frames):
        write(str(folder / f'{index:07d}.png'), frame)
    dataset = VideoFramesDataset(str(tmp_path / 'data'), convert_channels=True,
                                 pipeline=[dict(type='PackFramePair')])
    np.random.seed(0)
    item = dataset[0]
    for key in ('source', 'driving'):
        got = item[key].permute(1, 2, 0).numpy()
        expected = expected_floats(frames[item[f'{key}_index']], white)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_dark_16_bit_gray_is_not_taken_for_8_bit(tmp_path):
    """The old guess (max <= 255: 8-bit) made 200/65535 into 200/255."""
    write_gray16(str(tmp_path / 'dark.png'), np.full((H, W), 200, np.uint16))
    frame = read_image(str(tmp_path / 'dark.png'), convert_channels=True)
    assert frame.dtype == np.float32
    np.testing.assert_allclose(frame, 200 / 65535, rtol=0, atol=1e-9)


def test_8_bit_files_stay_uint8(tmp_path):
    values = rgb8()
    write_rgb8(str(tmp_path / 'rgb.png'), values)
    frame = read_image(str(tmp_path / 'rgb.png'))
    assert frame.dtype == np.uint8
    np.testing.assert_array_equal(frame, values)


def test_16_bit_rgba_is_composited_in_16_bits(tmp_path):
    rgba = np.zeros((H, W, 4), np.uint16)
    rgba[..., 0] = 1000
    rgba[..., 3] = 65535
    rgba[0, 0, 3] = 0  # transparent: the white background
    assert cv2.imwrite(str(tmp_path / 'rgba.png'), rgba[..., [2, 1, 0, 3]])
    picture = load_image(str(tmp_path / 'rgba.png'))
    np.testing.assert_allclose(picture[1, 1], [1000 / 65535, 0, 0], rtol=0, atol=1e-6)
    np.testing.assert_allclose(picture[0, 0], [1, 1, 1], rtol=0, atol=1e-6)


def test_16_bit_strip_frames(tmp_path):
    strip = np.concatenate([rgb16()[:, :6], rgb16()[:, 2:8]], axis=1)
    write_rgb16(str(tmp_path / 'strip.png'), strip)
    frames = list(open_video(str(tmp_path / 'strip.png')))
    assert len(frames) == 2
    np.testing.assert_allclose(frames[1], strip[:, 6:] / 65535, rtol=0, atol=1e-6)


def test_float_mode_is_taken_as_unit_intensities(tmp_path):
    values = np.linspace(-0.5, 1.5, H * W, dtype=np.float32).reshape(H, W)
    Image.fromarray(values, 'F').save(tmp_path / 'float.tif')
    frame = read_image(str(tmp_path / 'float.tif'), convert_channels=True)
    np.testing.assert_allclose(frame[..., 1], np.clip(values, 0, 1), rtol=0, atol=1e-7)


@pytest.mark.parametrize('orientation', range(1, 9))
def test_16_bit_colour_orientation_matches_pil(orientation):
    array = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    image = Image.fromarray(array)
    exif = image.getexif()
    exif[0x0112] = orientation
    image.info['exif'] = exif.tobytes()
    expected = np.asarray(ImageOps.exif_transpose(image))
    np.testing.assert_array_equal(_orient(array, orientation), expected)


def test_to_unit_float_scales_by_dtype():
    np.testing.assert_allclose(to_unit_float(np.array([0, 255], np.uint8)), [0, 1])
    np.testing.assert_allclose(to_unit_float(np.array([200, 65535], np.uint16)),
                               [200 / 65535, 1], rtol=0, atol=1e-9)
    assert to_unit_float(np.array([0.25], np.float64)).dtype == np.float32
    with pytest.raises(ValueError, match='must be uint8, uint16 or float, got int32'):
        to_unit_float(np.array([1], np.int32))


def test_packed_16_bit_pixels_are_still_8_bit_channels(tmp_path):
    """A 16-bits-per-pixel BMP (5 bits per channel) is not a 16-bit image."""
    import struct
    height, width = 2, 2
    pixels = [[0x7C00, 0x03E0], [0x001F, 0x7FFF]]  # red, green / blue, white (x1r5g5b5)
    rows = b''.join(struct.pack('<2H', *pixels[y]) for y in reversed(range(height)))
    header = struct.pack('<IiiHHIIiiII', 40, width, height, 1, 16, 0, len(rows), 0, 0, 0, 0)
    data = b'BM' + struct.pack('<IHHI', 14 + 40 + len(rows), 0, 0, 54) + header + rows
    (tmp_path / 'packed.bmp').write_bytes(data)
    with Image.open(tmp_path / 'packed.bmp') as image:
        assert image.tile[0][3][0] in ('BGR;15', 'BGR;16')
    frame = read_image(str(tmp_path / 'packed.bmp'))
    assert frame.dtype == np.uint8
    np.testing.assert_array_equal(frame[0, 0], [255, 0, 0])
    np.testing.assert_array_equal(frame[1, 1], [255, 255, 255])
