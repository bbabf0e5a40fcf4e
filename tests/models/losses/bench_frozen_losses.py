"""Cost of the frozen-network losses on this machine (prints figures; not a test).

    python -m tests.models.losses.bench_frozen_losses [--skip-real]   (from the repository root)

SAM keypoint semantic loss, per call on a (source, driving) batch: encoder
run every time (no cache), features from the memory cache, features from the
on-disk store; for a tiny encoder and for a real-size ViT-B encoder (random
weights, 1024x1024 input). DINO ViT-B/8 structure loss: forward + backward.
Random weights cost the same time as the published ones.
"""
import argparse
import os
import tempfile
import time

import torch

from cpabmm.models.backbones import SAMImageEncoder
from cpabmm.models.losses import KeypointSemanticLoss, StructureAlignmentLoss

TINY = dict(img_size=128, embed_dim=32, depth=2, num_heads=2, global_attn_indexes=(1,),
            window_size=2, out_chans=16)


def seconds(function, repeats):
    """Median ``(wall, process CPU)`` seconds of ``repeats`` calls. On a shared
    machine the CPU time (all threads) is the steadier figure."""
    times = []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        times.append((time.perf_counter() - start, time.process_time() - start_cpu))
    return sorted(times)[len(times) // 2]


def bench_sam(arch, batch, size, repeats):
    """Seconds of one encoder forward and of a loss step (forward + backward)
    without cache, with a cold cache, a warm memory cache and a warm disk store."""
    frames = torch.rand(2 * batch, 3, size, size)
    source, driving = frames[:batch], frames[batch:]
    keys = ([('clip', i) for i in range(batch)], [('clip', batch + i) for i in range(batch)])
    kp_source = (torch.rand(batch, 50, 2) * 2 - 1).requires_grad_()
    kp_driving = (torch.rand(batch, 50, 2) * 2 - 1).requires_grad_()
    encoder = SAMImageEncoder(arch=arch, pretrained=False)

    def step(loss, with_keys):
        frame_keys = keys if with_keys else (None, None)
        value = loss(source, driving, kp_source, kp_driving, *frame_keys)
        value['loss_keypoint_semantic'].backward()

    results = {f'encoder forward ({batch} frames)': seconds(lambda: encoder(source), 1)}
    uncached = KeypointSemanticLoss(encoder=encoder, cache=None)
    results['loss step, no cache'] = seconds(lambda: step(uncached, False), repeats)
    with tempfile.TemporaryDirectory() as folder:
        cached = KeypointSemanticLoss(encoder=encoder, cache=dict(cache_dir=folder))
        results['loss step, cold cache (encode+store)'] = seconds(lambda: step(cached, True), 1)
        results['loss step, warm memory cache'] = seconds(lambda: step(cached, True), 5)
        reader = KeypointSemanticLoss(encoder=encoder, cache=dict(cache_dir=folder, max_bytes=0))
        results['loss step, warm disk store'] = seconds(lambda: step(reader, True), 5)
        entry = os.path.getsize(cached.cache.path(keys[0][0]))
    return results, entry


def bench_dino(batch, size, repeats):
    loss = StructureAlignmentLoss(backbone=dict(type='DINOViT', pretrained=False))
    driving = torch.rand(batch, 3, size, size)
    prediction = torch.rand(batch, 3, size, size, requires_grad=True)
    def step():
        loss(prediction, driving)['loss_structure'].backward()

    step()  # warm-up
    return seconds(step, repeats)


def report(title, results, entry_bytes):
    print(f'\n{title}  (cache entry on disk: {entry_bytes / 1024:.1f} KiB, float16)')
    base = results['loss step, no cache'][0]
    for name, (wall, cpu) in results.items():
        print(f'  {name:38s} {wall * 1000:10.1f} ms wall {cpu * 1000:10.1f} ms CPU'
              f'   no cache / this: {base / wall:8.1f}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--skip-real', action='store_true', help='tiny encoder only')
    args = parser.parse_args()
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
          f'load average {os.getloadavg()[0]:.1f}')
    tiny, entry = bench_sam(TINY, batch=8, size=128, repeats=5)
    report('SAM loss, tiny encoder (128 px input), batch 8 pairs', tiny, entry)
    if args.skip_real:
        return
    real, entry = bench_sam('vit_b', batch=1, size=256, repeats=1)
    report('SAM loss, ViT-B encoder (1024 px input, random weights), batch 1 pair', real, entry)
    wall, cpu = bench_dino(batch=2, size=256, repeats=1)
    print(f'\nDINO ViT-B/8 structure loss, batch 2 at 256 px (224 px, 785 tokens), '
          f'forward + backward: {wall:.2f} s wall, {cpu:.2f} s CPU')


if __name__ == '__main__':
    main()
