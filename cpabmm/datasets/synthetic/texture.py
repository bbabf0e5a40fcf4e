"""Procedural colour textures for synthetic objects and backgrounds.

A texture mixes two random colours through a smooth noise field and overlays a
random pattern (stripes, checks, dots or blobs) plus fine noise, so that every
small patch is distinctive: photometric comparisons between frames then test
geometry rather than flat colour. Pattern sizes are given in pixels of the
texture and kept above a few pixels, so the texture is band-limited at the
resolution it is made for.
"""
import cv2
import numpy as np

PATTERNS = ('stripes', 'checks', 'dots', 'blobs')


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    hsv = np.array([[[rng.uniform(0, 360), rng.uniform(0.35, 0.9), rng.uniform(0.35, 0.95)]]],
                   dtype=np.float32)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]


def _smooth_noise(rng: np.random.Generator, height: int, width: int,
                  cell: float) -> np.ndarray:
    """Noise in [0, 1] that varies over about ``cell`` pixels (bicubic upsampling)."""
    grid_h = max(2, int(np.ceil(height / cell)) + 2)
    grid_w = max(2, int(np.ceil(width / cell)) + 2)
    coarse = rng.random((grid_h, grid_w)).astype(np.float32)
    field = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    low, high = field.min(), field.max()
    return (field - low) / max(high - low, 1e-6)


def _pattern(rng: np.random.Generator, height: int, width: int,
             period: float) -> np.ndarray:
    """A random pattern in [0, 1] with features about ``period`` pixels apart."""
    kind = PATTERNS[rng.integers(len(PATTERNS))]
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    along = x * np.cos(angle) + y * np.sin(angle)
    across = -x * np.sin(angle) + y * np.cos(angle)
    phase = rng.uniform(0, 2 * np.pi, size=2)
    wave_a = np.sin(2 * np.pi * along / period + phase[0])
    wave_b = np.sin(2 * np.pi * across / (period * rng.uniform(0.7, 1.4)) + phase[1])
    if kind == 'stripes':
        pattern = wave_a
    elif kind == 'checks':
        pattern = np.tanh(3 * wave_a * wave_b)
    elif kind == 'dots':
        pattern = np.clip(3 * (wave_a + wave_b) - 4, -1, 1)
    else:
        pattern = 2 * _smooth_noise(rng, height, width, period) - 1
    return 0.5 + 0.5 * pattern


def procedural_texture(rng: np.random.Generator, height: int, width: int,
                       period: float = 8.0, contrast: float = 0.5) -> np.ndarray:
    """A ``[height, width, 3]`` float32 RGB texture in [0, 1].

    Args:
        rng: random generator (the texture is a function of its state).
        height, width: size in pixels.
        period: typical pattern spacing in pixels (kept at 5 or more).
        contrast: strength of the pattern against the colour field.
    """
    period = max(5.0, period)
    colours = np.stack([_random_colour(rng), _random_colour(rng)])
    mix = _smooth_noise(rng, height, width, cell=period * rng.uniform(3, 6))[..., None]
    base = (1 - mix) * colours[0] + mix * colours[1]
    pattern = _pattern(rng, height, width, period * rng.uniform(0.8, 1.6))[..., None]
    detail = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32),
                              (0, 0), 1.2)[..., None]
    # the pattern's colour: the complement of the base, so it always shows
    accent = 0.5 * (1 - colours.mean(axis=0)) + 0.5 * _random_colour(rng)
    weight = contrast * pattern
    texture = (1 - weight) * base + weight * accent + 0.06 * detail
    return np.clip(texture, 0, 1).astype(np.float32)
