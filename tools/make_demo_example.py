"""Write the bundled demo example from the synthetic benchmark.

    python tools/make_demo_example.py [--out-dir demo] [--size 256]

The source picture is the first frame of one test video and the driving
video another test video (a different object), so the example is a
cross-identity animation. Everything is procedural: the files can always be
regenerated bit for bit from the seed.
"""
import argparse
import os
import os.path as osp

import cv2

from cpabmm.datasets import SyntheticMotionDataset
from cpabmm.io import write_video
from cpabmm.visualization import to_uint8

SOURCE_VIDEO, DRIVING_VIDEO = 3, 7


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out-dir', default='demo')
    parser.add_argument('--size', type=int, default=256)
    parser.add_argument('--frames', type=int, default=48)
    parser.add_argument('--fps', type=float, default=12.0)
    args = parser.parse_args()
    dataset = SyntheticMotionDataset(size=args.size, split='test', num_frames=args.frames,
                                     test_mode=True)
    os.makedirs(args.out_dir, exist_ok=True)
    source = to_uint8(dataset.scene(SOURCE_VIDEO).render(0, args.size))
    cv2.imwrite(osp.join(args.out_dir, 'source.png'), cv2.cvtColor(source, cv2.COLOR_RGB2BGR))
    scene = dataset.scene(DRIVING_VIDEO)
    frames = (to_uint8(scene.render(i, args.size)) for i in range(args.frames))
    write_video(osp.join(args.out_dir, 'driving.mp4'), frames, fps=args.fps)


if __name__ == '__main__':
    main()
