"""Still images (frames, strips, pictures) read as RGB arrays, scaled by the
file's real bit depth.

8-bit files come out as ``uint8`` (unchanged values); deeper files as
``float32`` in [0, 1], never rounded to 8 bits:

* 16-bit grayscale (PIL modes ``I;16``, ``I;16B``, ``I;16L``, and ``I``, the
  mode older Pillows give 16-bit PNGs): value / 65535, whatever the values
  (a dark image stays dark);
* 16-bit RGB, RGBA and gray+alpha PNGs and TIFFs, which PIL opens as 8-bit
  ``RGB``/``RGBA`` by dropping the low byte: read again with OpenCV
  (``IMREAD_UNCHANGED``), value / 65535;
* ``F`` (32-bit float TIFFs): the values are taken as intensities in [0, 1]
  and clipped to it.

:func:`to_unit_float` is the one conversion of image arrays to floats: by
their dtype (``uint8`` / 255, ``uint16`` / 65535, floats kept).
"""
import re
from typing import Optional, Sequence, Tuple

import numpy as np

from .formats import VideoError, _first_line

# PIL modes that hold colour and convert to RGB without losing information.
_COLOUR_MODES = ('RGB', 'P', 'CMYK', 'YCbCr', 'LAB', 'HSV')
_ALPHA_MODES = ('RGBA', 'RGBa', 'PA')
_GRAY_MODES = ('L', 'LA', 'La', '1', 'I', 'I;16', 'I;16B', 'I;16L', 'F')
# PIL modes deeper than 8 bits, and the value that stands for white in each.
_DEEP_MODES = {'I;16': 65535, 'I;16B': 65535, 'I;16L': 65535, 'I;16N': 65535, 'I': 65535,
               'F': 1}
_EXIF_ORIENTATION = 0x0112


def to_unit_float(image: np.ndarray) -> np.ndarray:
    """An image array as ``float32`` in [0, 1], scaled by its dtype:
    ``uint8`` / 255, ``uint16`` / 65535; float arrays are kept (as float32).

    Raises:
        ValueError: for any other dtype.
    """
    if image.dtype == np.uint8:
        return image.astype(np.float32) / np.float32(255)
    if image.dtype == np.uint16:
        return image.astype(np.float32) / np.float32(65535)
    if np.issubdtype(image.dtype, np.floating):
        return image.astype(np.float32, copy=False)
    raise ValueError(f'image arrays must be uint8, uint16 or float, got {image.dtype}')


def check_mode(mode: str, path: str, convert_channels: bool) -> None:
    """Raise :class:`VideoError` for a PIL image mode that is not colour.

    Grayscale and alpha modes pass when ``convert_channels`` is set.
    """
    if mode in _COLOUR_MODES:
        return
    if mode in _ALPHA_MODES or mode in _GRAY_MODES:
        if not convert_channels:
            kind = 'has an alpha channel' if mode in _ALPHA_MODES else 'is grayscale'
            raise VideoError(path, f'frame {kind} (PIL mode {mode!r})',
                             'save frames as RGB or set convert_channels=True')
        return
    raise VideoError(path, f'unsupported image mode {mode!r}', 'save frames as RGB')


def pil_to_rgb(image, path: str, convert_channels: bool,
               alpha_background: Optional[Sequence[int]] = None) -> np.ndarray:
    """An opened PIL image as an ``[H, W, 3]`` RGB array, checking its
    channels: ``uint8`` for 8-bit modes, ``float32`` in [0, 1] for the
    16-bit and float modes, scaled by the mode's depth (module docstring)."""
    check_mode(image.mode, path, convert_channels)
    if image.mode == 'RGB':
        return np.asarray(image)
    if image.mode in _DEEP_MODES:
        white = _DEEP_MODES[image.mode]
        gray = np.asarray(image).astype(np.float64) / white
        gray = np.clip(gray, 0, 1).astype(np.float32)
        return np.repeat(gray[..., None], 3, axis=2)
    if alpha_background is not None and (image.mode in _ALPHA_MODES
                                         or 'transparency' in image.info):
        from PIL import Image
        background = Image.new('RGBA', image.size, tuple(alpha_background) + (255,))
        return np.asarray(Image.alpha_composite(background, image.convert('RGBA'))
                          .convert('RGB'))
    return np.asarray(image.convert('RGB'))


def _sixteen_bit_colour(image) -> bool:
    """Whether PIL would cut the colour (or gray+alpha) image file it has
    just opened (not yet loaded) to 8 bits: its raw mode has 16 bits per
    channel (``RGB;16B``, ``RGBA;16B``, ``LA;16B``, ``RGB;16N``..., not the
    packed 16-bit pixels ``BGR;16`` of BMPs, which hold less than 8 bits
    per channel)."""
    if image.mode in _DEEP_MODES:
        return False  # 16-bit gray: PIL keeps every bit
    for tile in getattr(image, 'tile', None) or ():
        args = tile[3] if len(tile) > 3 else None
        rawmode = args[0] if isinstance(args, tuple) and args else args
        if isinstance(rawmode, str) and re.search(r';16[BLN]$', rawmode):
            return True
    return False


def _orient(array: np.ndarray, orientation: Optional[int]) -> np.ndarray:
    """Turn an ``[H, W, C]`` array upright as an EXIF orientation says (as
    ``PIL.ImageOps.exif_transpose`` does)."""
    turns = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
             5: lambda a: a.transpose(1, 0, 2), 6: lambda a: np.rot90(a, -1),
             7: lambda a: np.rot90(a, 2).transpose(1, 0, 2), 8: lambda a: np.rot90(a, 1)}
    turn = turns.get(orientation)
    return np.ascontiguousarray(turn(array)) if turn else array


def _read_sixteen_bit_colour(path: str, alpha_background: Optional[Sequence[int]],
                             orientation: Optional[int]) -> Optional[np.ndarray]:
    """A 16-bit RGB, RGBA or gray+alpha file as ``[H, W, 3]`` float32 in
    [0, 1]; None when OpenCV does not read it in 16 bits (PIL then reads it)."""
    import cv2
    array = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if array is None or array.dtype != np.uint16 or array.ndim != 3 \
            or array.shape[2] not in (3, 4):
        return None
    rgba = to_unit_float(_orient(array[..., [2, 1, 0, 3][:array.shape[2]]], orientation))
    rgb = rgba[..., :3]
    if rgba.shape[2] == 4 and alpha_background is not None:
        alpha = rgba[..., 3:]
        background = np.asarray(alpha_background, np.float32) / np.float32(255)
        rgb = rgb * alpha + background * (1 - alpha)
    return np.ascontiguousarray(rgb)


def read_image(path: str, convert_channels: bool = False,
               alpha_background: Optional[Sequence[int]] = None,
               exif_transpose: bool = False) -> np.ndarray:
    """Read one image file as ``[H, W, 3]`` RGB: ``uint8`` for 8-bit files,
    ``float32`` in [0, 1] scaled by the real bit depth for deeper ones
    (module docstring); :func:`to_unit_float` turns either into floats.

    Args:
        path: the image file.
        convert_channels: replicate grayscale and drop alpha instead of
            raising :class:`VideoError`.
        alpha_background: with ``convert_channels``, an RGB colour to
            composite transparent images over instead of dropping alpha.
        exif_transpose: turn the image upright as its EXIF orientation says
            (photos from phones and cameras).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError
    try:
        with Image.open(path) as image:
            if _sixteen_bit_colour(image):
                check_mode(image.mode, path, convert_channels)
                orientation = (image.getexif().get(_EXIF_ORIENTATION) if exif_transpose
                               else None)
                deep = _read_sixteen_bit_colour(path, alpha_background, orientation)
                if deep is not None:
                    return deep
            image.load()
            if exif_transpose:
                image = ImageOps.exif_transpose(image)
            return pil_to_rgb(image, path, convert_channels, alpha_background)
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise VideoError(path, f'not a readable image ({_first_line(err)})',
                         'replace or remove the file') from None


def image_header(path: str) -> Tuple[str, Tuple[int, int]]:
    """PIL mode and ``(height, width)`` of an image file, reading its header only."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as image:
            return image.mode, (image.height, image.width)
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise VideoError(path, f'not a readable image ({_first_line(err)})',
                         'replace or remove the file') from None
