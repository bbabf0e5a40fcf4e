"""L1, PSNR and SSIM: known answers, skimage as the SSIM reference, and the
per-video accumulation shared by every metric."""
import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from skimage.metrics import structural_similarity

from cpabmm.evaluation import L1, PSNR, SSIM, ssim
from cpabmm.evaluation.video_metric import merge_video_totals
from .helpers import sample


def random_video(frames: int, seed: int, size=(32, 40)) -> torch.Tensor:
    return torch.rand(frames, 3, *size, generator=torch.Generator().manual_seed(seed))


def evaluate(metric, samples, batch_size: int = 3) -> dict:
    for start in range(0, len(samples), batch_size):
        metric.process(None, samples[start:start + batch_size])
    return metric.evaluate(len(samples))


def test_identical_videos_give_perfect_scores():
    video = random_video(4, seed=0)
    samples = [sample('a', i, f, f.clone()) for i, f in enumerate(video)]
    assert evaluate(L1(), samples) == {'L1': 0.0}
    assert evaluate(PSNR(), samples) == {'PSNR': 100.0}
    assert evaluate(SSIM(), samples)['SSIM'] == pytest.approx(1.0, abs=1e-12)


def test_psnr_cap_is_configurable_and_exact_values_are_kept():
    frame = torch.full((3, 16, 16), 0.5)
    assert evaluate(PSNR(max_psnr=60.0), [sample('a', 0, frame, frame)]) == {'PSNR': 60.0}
    # A uniform offset of 0.1 gives MSE 0.01, i.e. 20 dB.
    result = evaluate(PSNR(), [sample('a', 0, frame + 0.1, frame)])
    assert result['PSNR'] == pytest.approx(20.0, abs=1e-4)  # float32 frames
    with pytest.raises(ValueError, match='max_psnr'):
        PSNR(max_psnr=0)


def test_l1_is_the_frame_weighted_mean_over_all_videos():
    """pose-evaluation's protocol: mean over all frames of all videos, so a
    long video weighs more than a short one."""
    videos = {'long': (random_video(5, 1), random_video(5, 2)),
              'short': (random_video(2, 3), random_video(2, 4))}
    samples = [sample(name, i, pred[i], gt[i])
               for name, (pred, gt) in videos.items() for i in range(len(pred))]
    metric = L1()
    result = evaluate(metric, samples, batch_size=4)  # batches span videos
    per_frame = {name: [np.abs(p.double().numpy() - g.double().numpy()).mean()
                        for p, g in zip(*pair)]
                 for name, pair in videos.items()}
    every_frame = per_frame['long'] + per_frame['short']
    assert result['L1'] == pytest.approx(np.mean(every_frame), rel=1e-12)
    assert metric.per_video['long']['L1'] == pytest.approx(np.mean(per_frame['long']), rel=1e-12)
    assert metric.per_video['short'] == {
        'frames': 2, 'L1': pytest.approx(np.mean(per_frame['short']), rel=1e-12)}


@pytest.mark.parametrize('seed,noise', [(0, 0.05), (1, 0.3), (2, 1.0)])
def test_ssim_matches_skimage(seed, noise):
    generator = torch.Generator().manual_seed(seed)
    # Smooth structure plus noise, so that SSIM is neither 0 nor 1.
    base = torch.nn.functional.interpolate(
        torch.rand(1, 3, 8, 10, generator=generator), size=(48, 60), mode='bilinear')
    other = (base + noise * torch.randn(base.shape, generator=generator)).clamp(0, 1)
    reference = structural_similarity(
        base[0].permute(1, 2, 0).double().numpy(),
        other[0].permute(1, 2, 0).double().numpy(),
        channel_axis=2, gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False, data_range=1.0)
    assert ssim(base.double(), other.double()).item() == pytest.approx(reference, abs=1e-10)
    metric_value = evaluate(SSIM(), [sample('v', 0, other[0], base[0])])['SSIM']
    assert metric_value == pytest.approx(reference, abs=1e-10)


def test_ssim_rejects_frames_smaller_than_the_window():
    frame = torch.rand(3, 8, 8)
    with pytest.raises(ValueError, match='at least 11 px per side'):
        evaluate(SSIM(), [sample('v', 0, frame, frame)])


def test_metrics_run_through_mmengine_evaluator():
    video = random_video(3, seed=5)
    evaluator = Evaluator([L1(), PSNR(), SSIM()])
    evaluator.process([sample('v', i, f, f) for i, f in enumerate(video)])
    assert evaluator.evaluate(3) == {'L1': 0.0, 'PSNR': 100.0,
                                     'SSIM': pytest.approx(1.0, abs=1e-12)}


def test_memory_holds_one_record_per_video_not_per_frame():
    metric = L1()
    frame = torch.zeros(3, 4, 4)
    for index in range(500):
        metric.process(None, [sample('only', index, frame, frame)])
    assert metric.results == []
    assert list(metric._videos) == ['only']
    assert metric._videos['only'] == {
        'frames': 500, 'sums': {'L1': 0.0}, 'counts': {'L1': 500}}


def test_ranks_parts_are_merged_by_video():
    """In a distributed run a video's frames are split between ranks."""
    rank0 = {'a': {'frames': 2, 'sums': {'L1': 0.2}, 'counts': {'L1': 2}}}
    rank1 = {'a': {'frames': 1, 'sums': {'L1': 0.4}, 'counts': {'L1': 1}},
             'b': {'frames': 1, 'sums': {'L1': 1.0}, 'counts': {'L1': 1}}}
    merged = merge_video_totals([rank0, rank1])
    assert merged['a'] == {'frames': 3, 'sums': {'L1': pytest.approx(0.6)},
                           'counts': {'L1': 3}}
    metric = L1()
    assert metric.compute_metrics([rank0, rank1]) == {'L1': pytest.approx(1.6 / 4)}
    assert metric.per_video['a']['L1'] == pytest.approx(0.2)


def test_empty_split_is_a_one_line_error():
    metric = L1()
    with pytest.raises(ValueError, match='no frame was evaluated') as error:
        metric.evaluate(0)
    assert '\n' not in str(error.value)


@pytest.mark.parametrize('change,message', [
    (lambda s: s.pop('driving'), "no 'driving'"),
    (lambda s: s.pop('video_id'), "no 'video_id'"),
    (lambda s: s.update(prediction=np.zeros((3, 8, 8))), 'must be a torch.Tensor'),
    (lambda s: s.update(prediction=torch.zeros(8, 8, 3)), r'shape \[3, H, W\]'),
    (lambda s: s.update(prediction=torch.zeros(3, 8, 8, dtype=torch.uint8)), 'float tensor'),
    (lambda s: s.update(prediction=torch.zeros(3, 8, 9)), 'differ in shape'),
])
def test_bad_samples_are_one_line_errors(change, message):
    bad = sample('v', 0, torch.zeros(3, 8, 8), torch.zeros(3, 8, 8))
    change(bad)
    with pytest.raises(ValueError, match=message) as error:
        L1().process(None, [bad])
    assert '\n' not in str(error.value)
    assert 'docs/evaluation.md' in str(error.value)


def test_psnr_of_a_known_mse_per_frame_then_averaged():
    gt = torch.zeros(2, 3, 16, 16)
    pred = gt.clone()
    pred[0] += 0.1      # 20 dB
    pred[1] += 0.01     # 40 dB
    result = evaluate(PSNR(), [sample('v', i, pred[i], gt[i]) for i in range(2)])
    assert result['PSNR'] == pytest.approx(30.0, abs=1e-4)
    assert not math.isnan(result['PSNR'])


def test_dataset_fields_may_sit_in_metainfo():
    frame = torch.zeros(3, 8, 8)
    metric = L1()
    metric.process(None, [dict(prediction=frame + 0.25, driving=frame,
                               metainfo=dict(video_id='clip', driving_index=0))])
    assert metric.evaluate(1) == {'L1': 0.25}
    assert list(metric.per_video) == ['clip']
    with pytest.raises(ValueError, match=r'fields present: driving, metainfo, '
                                         r'prediction, metainfo.driving_index'):
        L1().process(None, [dict(prediction=frame, driving=frame,
                                 metainfo=dict(driving_index=0))])
