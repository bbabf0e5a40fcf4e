"""MMEngine's test loop with the protocols and result files of image
animation."""
from __future__ import annotations

import datetime
import logging
import os.path as osp
from collections import Counter
from contextlib import ExitStack
from typing import Any, Dict, List, Mapping, Optional

import torch
from mmengine.dist import all_gather_object, get_world_size, is_main_process
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop
from mmengine.runner.amp import autocast
from tqdm import tqdm

from cpabmm.evaluation import (PNGStripWriter, VideoMetric, collect_per_video,
                               write_metrics_json, write_per_video_csv)
from cpabmm.evaluation.samples import get_video_id
from cpabmm.registry import EVALUATOR, LOOPS
from cpabmm.version import __version__
from .initial_frames import InitialDrivingFrames
from .side_by_side import SideBySideRecorder

PROTOCOLS = ('reconstruction', 'animation')


def per_video_csv_path(out: str) -> str:
    """Where the per-video table goes by default: ``<out stem>_per_video.csv``."""
    return f'{osp.splitext(out)[0]}_per_video.csv'


@LOOPS.register_module()
class AnimationTestLoop(TestLoop):
    """Evaluate a model on a test split, frame by frame, and write the results.

    **Reconstruction** (``protocol='reconstruction'``, the protocol of the
    papers): every frame of every test video is driven, frame 0 of the video
    being the source; metrics are means over all frames of all videos.
    **Cross-identity animation** (``'animation'``): the source of one video
    is animated by the frames of another with relative motion (the driving
    keypoints' displacement since the driving video's frame 0, see
    ``ImageAnimator.compute_relative_outputs``); only metrics that need no
    ground-truth frame apply (AED against the source).

    Predictions are handed to the metrics and output writers batch by batch
    and never kept, so memory does not grow with the number or the length of
    the videos. Rank 0 writes the metrics JSON (``{"metrics", "skipped",
    "meta"}``), the per-video CSV and, optionally, PNG strips and
    side-by-side videos; every file appears whole or not at all, and the
    JSON is written last, so a failed run leaves none.

    Args:
        runner, dataloader, evaluator, fp16: see MMEngine's ``TestLoop``
            (an :class:`~cpabmm.engine.AnimationEvaluator` lists the metrics
            it skipped, and why, in the JSON).
        protocol: ``'reconstruction'`` or ``'animation'``.
        out: path of the metrics JSON; None writes no files but the optional
            strips and videos.
        per_video_csv: path of the per-video table; by default
            ``<out stem>_per_video.csv``.
        save_strips: folder for PNG strips in pose-evaluation's layout
            (``generated/`` and ``real/``).
        side_by_side: how many best and worst videos to write as
            ``source | driving | prediction`` videos.
        side_by_side_dir: their folder (default ``<work_dir>/side_by_side``).
        rank_by: the per-video metric ranking the videos (default ``L1``
            when computed, else the first metric).
        meta: facts added to the JSON's ``meta`` (e.g. the checkpoint).
        progress: show a progress bar with the remaining time on rank 0.
    """

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False,
                 protocol: str = 'reconstruction', out: Optional[str] = None,
                 per_video_csv: Optional[str] = None, save_strips: Optional[str] = None,
                 side_by_side: int = 0, side_by_side_dir: Optional[str] = None,
                 rank_by: Optional[str] = None, meta: Optional[Mapping[str, Any]] = None,
                 progress: bool = True) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f'protocol must be one of {PROTOCOLS}, got {protocol!r}')
        if isinstance(evaluator, dict) and 'type' in evaluator:
            # MMEngine builds a typed evaluator only from a dict with `metrics`.
            evaluator = EVALUATOR.build(evaluator)
        super().__init__(runner, dataloader, evaluator, fp16)
        self.protocol = protocol
        self.out = out
        self.per_video_csv = per_video_csv or (per_video_csv_path(out) if out else None)
        self.save_strips = save_strips
        self.side_by_side = int(side_by_side or 0)
        self.side_by_side_dir = side_by_side_dir or osp.join(runner.work_dir, 'side_by_side')
        self.meta = dict(meta or {})
        self.progress = progress
        self.skipped: Dict[str, str] = dict(getattr(self.evaluator, 'skipped', {}))
        self._check_dataset()
        self._check_metrics()
        self._collect_in(osp.join(runner.work_dir, '.dist_collect'))
        self.rank_by = self._ranking_metric(rank_by) if self.side_by_side else rank_by
        self.initial_frames = (InitialDrivingFrames(self.dataloader.dataset)
                               if protocol == 'animation' else None)
        self._sinks: List[Any] = []
        self._frame_counts: Counter = Counter()
        for name, reason in self.skipped.items():
            print_log(f'metric {name} skipped: {reason}', logger='current',
                      level=logging.WARNING)

    # ------------------------------------------------------------ checks
    def _check_dataset(self) -> None:
        dataset = self.dataloader.dataset
        if len(dataset) == 0:
            raise ValueError(
                f'the test split of {type(dataset).__name__} has no videos; check '
                'the dataset path, split and filters in test_dataloader.dataset')
        if get_world_size() == 1:
            return
        if self.save_strips or self.side_by_side:
            raise ValueError(
                'PNG strips and side-by-side videos need every frame of a video in '
                'one process; run them without a distributed launcher')
        if getattr(self.dataloader.sampler, 'round_up', False):
            raise ValueError(
                'the test sampler pads the split to a multiple of the process count, '
                'which evaluates frames twice; set test_dataloader.sampler.round_up=False')

    def _video_metrics(self) -> List[VideoMetric]:
        return [m for m in self.evaluator.metrics if isinstance(m, VideoMetric)]

    def _check_metrics(self) -> None:
        if self.protocol != 'animation':
            return
        for metric in self._video_metrics():
            if metric.gt_key == 'driving':
                raise ValueError(
                    f'{metric.metric_name} compares with the driving frame, which shows '
                    'another identity in cross-identity animation; use metrics with '
                    "gt_key='source' (e.g. AED) in the animation evaluator")

    def _collect_in(self, folder: str) -> None:
        """Gather distributed results in ``folder`` rather than MMEngine's
        default ``.dist_test/`` in the current directory."""
        for metric in self.evaluator.metrics:
            if getattr(metric, 'collect_dir', False) is None:
                metric.collect_dir = folder

    def _ranking_metric(self, rank_by: Optional[str]) -> str:
        names = [name for m in self._video_metrics() for name in m.statistics]
        if rank_by is None and names:
            rank_by = 'L1' if 'L1' in names else names[0]
        if rank_by not in names:
            raise ValueError(
                f'side-by-side videos are ranked by a per-video metric; '
                f'{rank_by or "none"} is not computed (computed: '
                f'{", ".join(names) or "none"})')
        return rank_by

    # ------------------------------------------------------------ the loop
    def run(self) -> dict:
        """Animate every test frame, evaluate, write the result files."""
        self.runner.call_hook('before_test')
        self.runner.call_hook('before_test_epoch')
        self.runner.model.eval()
        self._frame_counts.clear()
        with ExitStack() as stack:
            strips = recorder = None
            if self.save_strips:
                strips = stack.enter_context(PNGStripWriter(self.save_strips))
            if self.side_by_side:
                recorder = stack.enter_context(
                    SideBySideRecorder(self.side_by_side_dir, self.side_by_side))
            self._sinks = [sink for sink in (strips, recorder) if sink is not None]
            total = len(getattr(self.dataloader, 'sampler', ())) or None
            with tqdm(total=total, unit='frame', desc=f'test ({self.protocol})',
                      disable=not (self.progress and is_main_process())) as bar:
                for idx, data_batch in enumerate(self.dataloader):
                    bar.update(self.run_iter(idx, data_batch))
            if strips is not None:
                strips.close()  # writes the last video's strips
            metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
            per_video = self._per_video()
            if is_main_process():
                if recorder is not None:
                    for path in recorder.finish(per_video, self.rank_by):
                        print_log(f'side-by-side video: {path}', logger='current')
                self._write_results(metrics, per_video)
        self._sinks = []
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.call_hook('after_test')
        return metrics

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch: Any) -> int:
        """Animate one batch, hand it to the metrics and the writers; returns
        the number of frames."""
        if self.initial_frames is not None:
            data_batch = self.initial_frames.add_to(data_batch)
        self.runner.call_hook('before_test_iter', batch_idx=idx, data_batch=data_batch)
        with autocast(enabled=self.fp16):
            outputs = self.runner.model.test_step(data_batch)
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        for sample in outputs:
            self._frame_counts[get_video_id(sample, type(self).__name__)] += 1
            for sink in self._sinks:
                sink.add(sample)
        self.runner.call_hook(
            'after_test_iter', batch_idx=idx, data_batch=data_batch, outputs=outputs)
        return len(outputs)

    # ------------------------------------------------------------ results
    def _per_video(self) -> Dict[str, Dict[str, Any]]:
        """``{video_id: {'frames': n, metric: mean, ...}}`` over all ranks
        (complete on rank 0)."""
        counts: Counter = Counter()
        for part in all_gather_object(dict(self._frame_counts)):
            counts.update(part)
        rows = {video_id: {'frames': n} for video_id, n in sorted(counts.items())}
        for video_id, values in collect_per_video(self.evaluator.metrics).items():
            rows.setdefault(video_id, {}).update(values)
        return rows

    def _run_meta(self, per_video: Mapping[str, Mapping[str, Any]]) -> Dict[str, Any]:
        model = self.runner.model.module if is_model_wrapper(self.runner.model) \
            else self.runner.model
        motion = getattr(model, 'motion', None)
        meta = dict(
            protocol=self.protocol,
            config=getattr(self.runner.cfg, 'filename', None),
            dataset=type(self.dataloader.dataset).__name__,
            videos=len(per_video),
            frames=sum(row['frames'] for row in per_video.values()),
            model=type(model).__name__,
            motion=type(motion).__name__ if motion is not None else None,
            world_size=get_world_size(),
            cpabmm_version=__version__,
            finished=datetime.datetime.now().isoformat(timespec='seconds'))
        meta.update(self.meta)
        return meta

    def _write_results(self, metrics: Mapping[str, Any],
                       per_video: Mapping[str, Mapping[str, Any]]) -> None:
        if self.per_video_csv:
            write_per_video_csv(self.per_video_csv, per_video)
            print_log(f'per-video results: {self.per_video_csv}', logger='current')
        if self.out:
            write_metrics_json(self.out, metrics, self.skipped, self._run_meta(per_video))
            print_log(f'metrics: {self.out}', logger='current')

