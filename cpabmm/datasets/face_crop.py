"""Face detection and stable square crops for preparing talking-head clips.

The steps of ``tools/crop_video.py``, usable on their own:

1. :func:`build_face_detector` gives an offline detector: OpenCV's Haar
   cascade (needs an OpenCV build that ships ``CascadeClassifier`` and its
   cascade files, e.g. ``opencv-python<5`` or ``opencv-contrib-python``) or
   MediaPipe's face detector (``mediapipe`` releases that still bundle the
   legacy ``solutions`` models). Both run without network access.
2. :func:`detect_faces` runs it over a streamed video.
3. :func:`plan_crops` splits the video where the face moves too far and picks
   one square crop per segment that covers the face throughout, as the
   VoxCeleb preprocessing of the original authors does.
4. :func:`write_clips` streams the video again and writes each segment,
   cropped and resized, as its own clip.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from cpabmm.io import VideoSource, VideoWriter
from cpabmm.visualization import to_uint8

Box = Tuple[float, float, float, float]  # x, y, width, height in pixels
DETECTORS = ('auto', 'haar', 'mediapipe')
HAAR_CASCADE = 'haarcascade_frontalface_default.xml'


class DetectorUnavailable(RuntimeError):
    """No usable face detector; the message says what to install."""


class HaarFaceDetector:
    """OpenCV's frontal-face Haar cascade.

    Args:
        cascade: path of the cascade XML (default: the one in ``cv2.data``).
        min_size: smallest face, as a share of the frame's shorter side.
    """

    def __init__(self, cascade: Optional[str] = None, min_size: float = 0.1) -> None:
        if not hasattr(cv2, 'CascadeClassifier'):
            raise DetectorUnavailable(
                f'OpenCV {cv2.__version__} has no Haar cascades (cv2.CascadeClassifier); '
                'install opencv-python<5 or opencv-contrib-python')
        if cascade is None:
            folder = getattr(getattr(cv2, 'data', None), 'haarcascades', '')
            cascade = osp.join(folder, HAAR_CASCADE)
        if not osp.isfile(cascade):
            raise DetectorUnavailable(
                f'{cascade}: Haar cascade file not found; pass --cascade PATH or install '
                'an OpenCV build that ships cv2.data')
        self.classifier = cv2.CascadeClassifier(cascade)
        if self.classifier.empty():
            raise DetectorUnavailable(f'{cascade}: not a valid Haar cascade file')
        self.min_size = min_size

    def __call__(self, frame: np.ndarray) -> List[Box]:
        gray = cv2.equalizeHist(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
        side = max(8, int(self.min_size * min(gray.shape)))
        faces = self.classifier.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5,
                                                 minSize=(side, side))
        return [tuple(float(v) for v in face) for face in faces]


class MediaPipeFaceDetector:
    """MediaPipe's face detector (BlazeFace, full-range model)."""

    def __init__(self, min_confidence: float = 0.5) -> None:
        try:
            import mediapipe
        except ImportError:
            raise DetectorUnavailable(
                'mediapipe is not installed; pip install mediapipe==0.10.14 (later '
                'releases drop the bundled face models)') from None
        solutions = getattr(mediapipe, 'solutions', None)
        if solutions is None:
            raise DetectorUnavailable(
                f'mediapipe {mediapipe.__version__} lacks the bundled face detection '
                'model; pip install mediapipe==0.10.14')
        self.model = solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=min_confidence)

    def __call__(self, frame: np.ndarray) -> List[Box]:
        height, width = frame.shape[:2]
        result = self.model.process(np.ascontiguousarray(frame))
        boxes = []
        for detection in result.detections or ():
            box = detection.location_data.relative_bounding_box
            boxes.append((box.xmin * width, box.ymin * height,
                          box.width * width, box.height * height))
        return boxes


def build_face_detector(name: str = 'auto', cascade: Optional[str] = None) -> Callable:
    """A face detector by name; ``'auto'`` takes the first that works.

    Raises:
        DetectorUnavailable: one line saying why each candidate failed.
    """
    if name not in DETECTORS:
        raise ValueError(f'detector must be one of {DETECTORS}, got {name!r}')
    candidates = {'haar': lambda: HaarFaceDetector(cascade),
                  'mediapipe': MediaPipeFaceDetector}
    names = ['haar', 'mediapipe'] if name == 'auto' else [name]
    reasons = []
    for candidate in names:
        try:
            return candidates[candidate]()
        except DetectorUnavailable as err:
            reasons.append(f'{candidate}: {err}')
    raise DetectorUnavailable('no face detector available (' + '; '.join(reasons) + ')')


def uint8_frames(frames: Iterable[np.ndarray]) -> Iterable[np.ndarray]:
    """The frames as uint8 RGB (16-bit sources are read as floats in [0, 1]),
    what the face detectors and the clip writer take."""
    for frame in frames:
        yield frame if frame.dtype == np.uint8 else to_uint8(frame)


def detect_faces(frames: Iterable[np.ndarray], detector: Callable, stride: int = 1,
                 progress: Optional[Callable[[int], None]] = None) -> List[Optional[Box]]:
    """The largest face of every frame (``None`` where none is found).

    With ``stride > 1`` only every ``stride``-th frame is searched and the
    frames between repeat the last search's result.
    """
    boxes: List[Optional[Box]] = []
    last: Optional[Box] = None
    for index, frame in enumerate(uint8_frames(frames)):
        if index % stride == 0:
            found = detector(frame)
            last = max(found, key=lambda b: b[2] * b[3]) if found else None
        boxes.append(last)
        if progress is not None:
            progress(1)
    return boxes


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes."""
    left, top = max(a[0], b[0]), max(a[1], b[1])
    right, bottom = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, right - left) * max(0.0, bottom - top)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Crop:
    """A clip to cut: frames ``[start, end)`` and one square ``(x, y, side)``."""

    start: int
    end: int
    x: int
    y: int
    side: int

    @property
    def num_frames(self) -> int:
        return self.end - self.start


def _square_around(boxes: Sequence[Box], frame_size: Tuple[int, int],
                   increase: float) -> Tuple[int, int, int]:
    """A square covering all ``boxes`` with a margin, shifted inside the frame."""
    array = np.asarray(boxes, dtype=np.float64)
    left, top = array[:, 0].min(), array[:, 1].min()
    right, bottom = (array[:, 0] + array[:, 2]).max(), (array[:, 1] + array[:, 3]).max()
    height, width = frame_size
    side = min(max(right - left, bottom - top) * (1 + 2 * increase), height, width)
    side = int(round(side))
    x = int(round(np.clip((left + right - side) / 2, 0, width - side)))
    y = int(round(np.clip((top + bottom - side) / 2, 0, height - side)))
    return x, y, side


def plan_crops(boxes: Sequence[Optional[Box]], frame_size: Tuple[int, int],
               increase: float = 0.1, iou_threshold: float = 0.25, min_frames: int = 16,
               max_gap: int = 5) -> List[Crop]:
    """Cut the video into segments with a steady face and one square crop each.

    A segment ends when the face's box overlaps the segment's first box by
    less than ``iou_threshold`` (a new segment starts there) or when no face
    is found for more than ``max_gap`` frames. Segments shorter than
    ``min_frames`` are dropped. Each crop covers every box of its segment,
    enlarged by ``increase`` of the size on each side.
    """
    crops: List[Crop] = []
    segment: List[Box] = []
    start = last_seen = 0

    def close() -> None:
        end = last_seen + 1
        if segment and end - start >= min_frames:
            crops.append(Crop(start, end, *_square_around(segment, frame_size, increase)))

    for index, box in enumerate(boxes):
        if box is None:
            if segment and index - last_seen > max_gap:
                close()
                segment = []
            continue
        if not segment or box_iou(box, segment[0]) < iou_threshold:
            close()
            segment, start = [], index
        segment.append(box)
        last_seen = index
    close()
    return crops


def hold_out(crops: Sequence[Crop], fraction: float) -> Tuple[List[Crop], List[Crop]]:
    """Split every crop by frame range into a training part (its first
    ``1 - fraction`` of frames) and a test part (the rest), with the same
    square: disjoint frames of the same face, for self-reenactment. A crop
    too short to give each part a frame is left out of both."""
    if not 0 < fraction < 1:
        raise ValueError(f'the held-out fraction must lie between 0 and 1, got {fraction}')
    train, test = [], []
    for crop in crops:
        cut = crop.start + int(round(crop.num_frames * (1 - fraction)))
        if crop.start < cut < crop.end:
            train.append(Crop(crop.start, cut, crop.x, crop.y, crop.side))
            test.append(Crop(cut, crop.end, crop.x, crop.y, crop.side))
    return train, test


def resize_square(patch: np.ndarray, size: int) -> np.ndarray:
    """Resize a square patch to ``size`` (area averaging when shrinking)."""
    shrink = patch.shape[0] > size
    return cv2.resize(patch, (size, size),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def write_clips(source: VideoSource, crops: Sequence[Crop], out_dir: str, size: int = 256,
                name: Optional[str] = None,
                progress: Optional[Callable[[int], None]] = None) -> List[str]:
    """Stream ``source`` once and write every crop as ``<name>#<start>#<end>.mp4``.

    Returns the written paths, in the order of ``crops``.
    """
    os.makedirs(out_dir, exist_ok=True)
    name = name or osp.splitext(osp.basename(osp.normpath(source.path)))[0]
    paths = [osp.join(out_dir, f'{name}#{c.start:06d}#{c.end:06d}.mp4') for c in crops]
    writers = [VideoWriter(path, fps=source.fps) for path in paths]
    last = max((c.end for c in crops), default=0)
    try:
        for index, frame in enumerate(uint8_frames(source)):
            if index >= last:
                break
            for crop, writer in zip(crops, writers):
                if crop.start <= index < crop.end:
                    patch = frame[crop.y:crop.y + crop.side, crop.x:crop.x + crop.side]
                    writer.write(resize_square(patch, size))
            if progress is not None:
                progress(1)
    except BaseException:  # no clip is published half-written
        for writer in writers:
            writer.abort()
        raise
    for writer in writers:
        writer.close()
    return paths
