"""Two CPU processes (gloo on the loopback) evaluate interleaved frames, as
``DefaultSampler(round_up=False)`` deals them; the merged result must equal
a single process's."""
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from cpabmm.evaluation import AKD, L1
from .helpers import ColourCentroids, blob_frame, sample, shift_x


def all_samples():
    generator = torch.Generator().manual_seed(0)
    samples = []
    for video, length in (('a', 5), ('b', 2), ('c', 4)):
        for index in range(length):
            frame = blob_frame(32, centres=((8, 8), (20, 10), (12, 22)))
            prediction = shift_x(frame, index) + 0.1 * torch.rand(3, 32, 32, generator=generator)
            samples.append(sample(video, index, prediction.clamp(0, 1), frame))
    return samples


def build_metrics(collect_dir=None):
    return [L1(collect_dir=collect_dir),
            AKD(detector=ColourCentroids(), detection_size=None, collect_dir=collect_dir)]


def evaluate(metrics, samples):
    for start in range(0, len(samples), 2):
        for metric in metrics:
            metric.process(None, samples[start:start + 2])
    return [(metric.evaluate(len(samples)), metric.per_video) for metric in metrics]


def worker(rank: int, world_size: int, port: int, collect_dir: str, queue) -> None:
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=rank, world_size=world_size)
    try:
        metrics = build_metrics(collect_dir)
        queue.put((rank, evaluate(metrics, all_samples()[rank::world_size])))
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_ranks_give_the_single_process_result(tmp_path):
    expected = evaluate(build_metrics(), all_samples())
    context = mp.get_context('spawn')
    queue = context.SimpleQueue()
    mp.spawn(worker, args=(2, free_port(), str(tmp_path), queue), nprocs=2, join=True)
    outputs = dict(queue.get() for _ in range(2))
    for (result, per_video), (single, single_per_video) in zip(outputs[0], expected):
        assert result.keys() == single.keys()
        for key, value in single.items():
            assert result[key] == (value if isinstance(value, str) else pytest.approx(value))
        assert per_video.keys() == single_per_video.keys()
        for video_id, values in single_per_video.items():
            assert per_video[video_id] == pytest.approx(values)
    # Every rank receives the metrics; only rank 0 fills the per-video table.
    assert [r for r, _ in outputs[1]] == [r for r, _ in outputs[0]]
    assert all(per_video == {} for _, per_video in outputs[1])
