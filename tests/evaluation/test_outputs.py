"""Result files: atomic JSON/CSV, PNG strips in pose-evaluation's layout, and
the best/worst ranking."""
import csv
import json
import math
import os

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from cpabmm.evaluation import (L1, PNGStripWriter, PSNR, atomic_write,
                               collect_per_video, rank_videos,
                               write_metrics_json, write_per_video_csv)
from cpabmm.evaluation import png_strips
from .helpers import sample


def test_atomic_write_leaves_nothing_on_error(tmp_path):
    path = tmp_path / 'metrics.json'
    with pytest.raises(RuntimeError):
        with atomic_write(str(path)) as file:
            file.write('{"partial": ')
            raise RuntimeError('interrupted')
    assert os.listdir(tmp_path) == []
    path.write_text('old')
    with pytest.raises(RuntimeError):
        with atomic_write(str(path)) as file:
            file.write('new')
            raise RuntimeError('interrupted')
    assert path.read_text() == 'old' and os.listdir(tmp_path) == ['metrics.json']


def test_metrics_json_layout_and_non_finite_values(tmp_path):
    path = tmp_path / 'out' / 'metrics.json'
    write_metrics_json(str(path),
                       {'L1': 0.25, 'AKD': math.nan, 'PSNR': torch.tensor(31.5),
                        'AKD_detector': 'mediapipe_face_mesh_468'},
                       skipped={'LPIPS': 'weights not found'},
                       meta={'checkpoint': 'a.pth', 'videos': np.int64(3)})
    assert json.loads(path.read_text()) == {
        'metrics': {'L1': 0.25, 'AKD': None, 'PSNR': 31.5,
                    'AKD_detector': 'mediapipe_face_mesh_468'},
        'skipped': {'LPIPS': 'weights not found'},
        'meta': {'checkpoint': 'a.pth', 'videos': 3}}
    assert oct(path.stat().st_mode & 0o777) != oct(0o600)


def test_per_video_csv_from_evaluated_metrics(tmp_path):
    l1, psnr = L1(), PSNR()
    zeros, halves = torch.zeros(3, 4, 4), torch.full((3, 4, 4), 0.5)
    batch = [sample('b', 0, zeros, halves), sample('a', 0, zeros, zeros),
             sample('a', 1, zeros, zeros)]
    for metric in (l1, psnr):
        metric.process(None, batch)
        metric.evaluate(3)
    rows = collect_per_video([l1, psnr, object()])
    assert list(rows) == ['a', 'b']
    path = tmp_path / 'per_video.csv'
    write_per_video_csv(str(path), rows)
    with open(path, newline='') as file:
        table = list(csv.reader(file))
    assert table[0] == ['video_id', 'frames', 'L1', 'PSNR']
    assert table[1] == ['a', '2', '0.0', '100.0']
    assert table[2][:3] == ['b', '1', '0.5']
    assert float(table[2][3]) == pytest.approx(10 * math.log10(1 / 0.25))


def test_missing_values_are_empty_cells(tmp_path):
    path = tmp_path / 'per_video.csv'
    write_per_video_csv(str(path), {'a': {'frames': 2, 'AKD': math.nan, 'MKR': 1.0},
                                    'b': {'frames': 1, 'MKR': 0.0}})
    assert path.read_text().splitlines() == [
        'video_id,frames,AKD,MKR', 'a,2,,1.0', 'b,1,,0.0']


PER_VIDEO = {'a': {'L1': 0.3, 'PSNR': 20.0}, 'b': {'L1': 0.1, 'PSNR': 30.0},
             'c': {'L1': 0.2, 'PSNR': 25.0}, 'd': {'L1': math.nan, 'PSNR': 40.0},
             'e': {'PSNR': 10.0}}


def test_best_and_worst_videos():
    assert rank_videos(PER_VIDEO, 'L1', count=2) == (['b', 'c'], ['a', 'c'])
    assert rank_videos(PER_VIDEO, 'PSNR') == (['d'], ['e'])
    assert rank_videos(PER_VIDEO, 'PSNR', higher_is_better=False) == (['e'], ['d'])
    assert rank_videos(PER_VIDEO, 'L1', count=10).best == ['b', 'c', 'a']
    with pytest.raises(ValueError, match="no video has a value for 'SSIM'"):
        rank_videos(PER_VIDEO, 'SSIM')
    with pytest.raises(ValueError, match='count'):
        rank_videos(PER_VIDEO, 'L1', count=0)


def read_strip_like_pose_evaluation(path, height, width):
    """pose-evaluation's ``frames2array`` for a strip: width-major split."""
    image = iio.imread(path)
    video = np.moveaxis(image, 1, 0).reshape((-1, width, height, 3))
    return np.moveaxis(video, 1, 2)


def to_uint8(frames: torch.Tensor) -> np.ndarray:
    return (frames.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy()


def test_png_strips_read_back_as_pose_evaluation_reads_them(tmp_path):
    generator = torch.Generator().manual_seed(0)
    generated = torch.rand(4, 3, 24, 24, generator=generator)
    real = torch.rand(4, 3, 24, 24, generator=generator)
    with PNGStripWriter(str(tmp_path)) as writer:
        for index in range(4):
            writer.add(sample('id1#clip.mp4', index, generated[index], real[index]))
        writer.add(sample('other/video', 0, generated[0], real[0]))
    assert sorted(os.listdir(tmp_path)) == ['generated', 'real']
    assert sorted(os.listdir(tmp_path / 'real')) == ['id1#clip.mp4.png', 'other_video.png']
    for folder, frames in (('generated', generated), ('real', real)):
        read = read_strip_like_pose_evaluation(tmp_path / folder / 'id1#clip.mp4.png', 24, 24)
        assert np.array_equal(read, to_uint8(frames))


def test_long_strips_are_split_into_several_data_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(png_strips, 'IDAT_BYTES', 4096)
    frames = torch.rand(40, 3, 32, 40, generator=torch.Generator().manual_seed(1))
    with PNGStripWriter(str(tmp_path), folders={'prediction': 'gen'}) as writer:
        for index, frame in enumerate(frames):
            writer.add(dict(video_id='v', driving_index=index, prediction=frame))
    data = (tmp_path / 'gen' / 'v.png').read_bytes()
    assert data.count(b'IDAT') > 2  # 154 kB of incompressible noise
    expected = np.concatenate(list(to_uint8(frames)), axis=1)
    assert np.array_equal(iio.imread(tmp_path / 'gen' / 'v.png'), expected)


def test_out_of_order_frames_are_refused_and_nothing_partial_remains(tmp_path):
    frame = torch.zeros(3, 8, 8)
    with pytest.raises(ValueError, match='frames must come in order'):
        with PNGStripWriter(str(tmp_path)) as writer:
            writer.add(sample('a', 0, frame, frame))
            writer.add(sample('a', 2, frame, frame))
    assert [files for _, _, files in os.walk(tmp_path)] == [[], [], []]
    with pytest.raises(ValueError, match='arrived after another video'):
        with PNGStripWriter(str(tmp_path)) as writer:
            writer.add(sample('a', 0, frame, frame))
            writer.add(sample('b', 0, frame, frame))
            writer.add(sample('a', 1, frame, frame))
    assert sorted(os.listdir(tmp_path / 'real')) == ['a.png', 'b.png']  # finished ones stay
    assert sorted(os.listdir(tmp_path)) == ['generated', 'real']


def test_frame_sizes_must_not_change_within_a_video(tmp_path):
    with pytest.raises(ValueError, match='mixes frame sizes'):
        with PNGStripWriter(str(tmp_path)) as writer:
            writer.add(sample('a', 0, torch.zeros(3, 8, 8), torch.zeros(3, 8, 8)))
            writer.add(sample('a', 1, torch.zeros(3, 8, 9), torch.zeros(3, 8, 9)))
