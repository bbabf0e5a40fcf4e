"""Still images (frames, strips, pictures) read as RGB ``uint8`` arrays."""
from typing import Optional, Sequence, Tuple

import numpy as np

from .formats import VideoError, _first_line

# PIL modes that hold colour and convert to RGB without losing information.
_COLOUR_MODES = ('RGB', 'P', 'CMYK', 'YCbCr', 'LAB', 'HSV')
_ALPHA_MODES = ('RGBA', 'RGBa', 'PA')
_GRAY_MODES = ('L', 'LA', 'La', '1', 'I', 'I;16', 'I;16B', 'I;16L', 'F')


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
    """An opened PIL image as an RGB ``uint8`` array, checking its channels."""
    check_mode(image.mode, path, convert_channels)
    if image.mode == 'RGB':
        return np.asarray(image)
    if image.mode.startswith('I') or image.mode == 'F':
        array = np.asarray(image, dtype=np.float64)
        scale = 65535.0 if array.max(initial=0) > 255 else 255.0
        gray = np.clip(array / scale * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if alpha_background is not None and (image.mode in _ALPHA_MODES
                                         or 'transparency' in image.info):
        from PIL import Image
        background = Image.new('RGBA', image.size, tuple(alpha_background) + (255,))
        return np.asarray(Image.alpha_composite(background, image.convert('RGBA'))
                          .convert('RGB'))
    return np.asarray(image.convert('RGB'))


def read_image(path: str, convert_channels: bool = False,
               alpha_background: Optional[Sequence[int]] = None,
               exif_transpose: bool = False) -> np.ndarray:
    """Read one image file as ``[H, W, 3]`` RGB ``uint8``.

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
