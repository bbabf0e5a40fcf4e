"""Cut VoxCeleb-style face clips out of a raw video.

Finds the face in every frame with an offline detector (OpenCV's Haar cascade
or MediaPipe), splits the video where the face moves away, picks one stable
square crop per segment with a margin around the face, and writes each
segment as ``<name>#<start>#<end>.mp4`` at ``--size`` pixels::

    python tools/crop_video.py raw.mp4 --out-dir data/mine/train

With ``--holdout F`` the last share ``F`` of every clip's frames goes to
``<out-dir>/test`` and the rest to ``<out-dir>/train`` (same crop, disjoint
frames: a self-reenactment split of one video)::

    python tools/crop_video.py raw.mp4 --out-dir data/mine --holdout 0.25

Exit status: 0 when clips were written, 1 when no usable face segment was
found, 2 for unusable input or when no detector is installed.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

from tqdm import tqdm

from cpabmm.datasets.face_crop import (DETECTORS, DetectorUnavailable, build_face_detector,
                                       detect_faces, hold_out, plan_crops, write_clips)
from cpabmm.io import VideoError, check_video, open_video
from cpabmm.utils.tool import tool_main


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Crop square face clips out of a video (VoxCeleb-style).')
    parser.add_argument('video', help='input video (any layout cpabmm reads)')
    parser.add_argument('--out-dir', default='.', help='folder for the clips')
    parser.add_argument('--size', type=int, default=256, help='output frame size')
    parser.add_argument('--detector', choices=DETECTORS, default='auto',
                        help='face detector (auto: Haar cascade, else MediaPipe)')
    parser.add_argument('--cascade', help='Haar cascade XML (default: the one of cv2.data)')
    parser.add_argument('--increase', type=float, default=0.1,
                        help='margin around the face, as a share of its size per side')
    parser.add_argument('--iou', type=float, default=0.25,
                        help='start a new clip when the face overlaps its first box less')
    parser.add_argument('--min-frames', type=int, default=16,
                        help='drop clips with fewer frames')
    parser.add_argument('--max-gap', type=int, default=5,
                        help='frames without a face tolerated inside a clip')
    parser.add_argument('--stride', type=int, default=1,
                        help='search every N-th frame only (faster)')
    parser.add_argument('--holdout', type=float, metavar='FRACTION',
                        help='write the last FRACTION of every clip\'s frames to OUT_DIR/test '
                             'and the rest to OUT_DIR/train (disjoint frames, same crop)')
    args = parser.parse_args(argv)
    if args.holdout is not None and not 0 < args.holdout < 1:
        parser.error(f'--holdout must lie between 0 and 1, got {args.holdout}')
    return args


@tool_main('no partial clip was written')
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        source = open_video(args.video)
        check_video(source)  # bad input fails here, before any detection
        detector = build_face_detector(args.detector, args.cascade)
        with tqdm(total=source.num_frames, desc='finding faces', unit='frame') as bar:
            boxes = detect_faces(source, detector, args.stride, bar.update)
    except (DetectorUnavailable, VideoError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    crops = plan_crops(boxes, source.frame_size, args.increase, args.iou, args.min_frames,
                       args.max_gap)
    if not crops:
        found = sum(box is not None for box in boxes)
        print(f'error: {args.video}: no face segment of {args.min_frames}+ frames (a face in '
              f'{found} of {len(boxes)} frames); try another --detector or a lower '
              '--min-frames', file=sys.stderr)
        return 1
    parts = {'': crops}
    if args.holdout is not None:
        parts = dict(zip(('train', 'test'), hold_out(crops, args.holdout)))
    for folder, part in parts.items():
        with tqdm(total=max((c.end for c in part), default=0), desc=f'writing {folder or "clips"}',
                  unit='frame') as bar:
            paths = write_clips(source, part, osp.join(args.out_dir, folder), args.size,
                                progress=bar.update)
        for crop, path in zip(part, paths):
            print(f'{path}: frames {crop.start}-{crop.end - 1}, crop {crop.side}px at '
                  f'({crop.x}, {crop.y})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
