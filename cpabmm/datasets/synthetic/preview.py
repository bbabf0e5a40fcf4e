"""A picture of synthetic videos with their keypoints (used for the docs).

Run ``python -m cpabmm.datasets.synthetic.preview OUT.png [--size 128] [--palette]`` to
write a grid: one row per video, frames left to right, keypoints drawn as
dots coloured by part (hollow when hidden behind another part).
"""
import argparse
from typing import Sequence

import cv2
import numpy as np

from cpabmm.visualization import to_uint8
from .dataset import SyntheticMotionDataset

PART_COLOURS = ((255, 255, 255), (255, 64, 64), (64, 160, 255), (255, 220, 0), (0, 230, 120))


def preview_grid(size: int = 128, videos: Sequence[int] = range(4),
                 frames: Sequence[int] = range(0, 32, 6), seed: int = 0,
                 split: str = 'train') -> np.ndarray:
    """``[rows * size, cols * size, 3]`` uint8 RGB grid of frames with keypoints."""
    dataset = SyntheticMotionDataset(size=size, split=split, seed=seed,
                                     num_videos=max(videos) + 1, lazy_init=True)
    radius = max(1, size // 64)
    rows = []
    for video in videos:
        scene = dataset.scene(video)
        row = []
        for frame in frames:
            image = to_uint8(scene.render(frame, size))
            pixels = (scene.keypoints(frame) + 1) * (size - 1) / 2
            for point, part, visible in zip(pixels, scene.keypoint_parts,
                                            scene.visible_keypoints(frame)):
                colour = PART_COLOURS[part % len(PART_COLOURS)]
                cv2.circle(image, tuple(int(round(c)) for c in point), radius + 1, colour,
                           -1 if visible else 1, lineType=cv2.LINE_AA)
            row.append(image)
        rows.append(np.concatenate(row, axis=1))
    return np.concatenate(rows, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', help='output image (.png)')
    parser.add_argument('--size', type=int, default=128, help='frame size in pixels')
    parser.add_argument('--videos', type=int, default=4, help='number of videos (rows)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--palette', action='store_true',
                        help='save with a 256-colour palette (smaller files)')
    args = parser.parse_args()
    grid = preview_grid(args.size, range(args.videos), seed=args.seed)
    if args.palette:
        from PIL import Image
        Image.fromarray(grid).quantize(256, dither=Image.Dither.NONE).save(args.out, optimize=True)
    else:
        cv2.imwrite(args.out, cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))


if __name__ == '__main__':
    main()
