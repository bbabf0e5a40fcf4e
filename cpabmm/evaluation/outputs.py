"""Result files of a test run: the metrics JSON and the per-video CSV.

Every file is written to a temporary file beside its destination and renamed
over it once complete, so an error never leaves a partial file behind.
"""
from __future__ import annotations

import csv
import json
import math
from typing import Any, Dict, List, Mapping, Optional, Sequence

from cpabmm.fileio import atomic_write
from .video_metric import VideoMetric


def json_safe(value: Any) -> Any:
    """``value`` with tensors/numpy scalars as Python numbers and NaN or
    infinity as None (JSON has no such numbers)."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, 'item') and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_metrics_json(path: str,
                       metrics: Mapping[str, Any],
                       skipped: Optional[Mapping[str, str]] = None,
                       meta: Optional[Mapping[str, Any]] = None) -> None:
    """Write ``{"metrics": ..., "skipped": {metric: reason}, "meta": ...}``."""
    document = {
        'metrics': json_safe(metrics),
        'skipped': dict(skipped or {}),
        'meta': json_safe(meta or {}),
    }
    with atomic_write(path, 'w', encoding='utf-8') as file:
        json.dump(document, file, indent=2, allow_nan=False)
        file.write('\n')


def collect_per_video(metrics: Sequence[Any]) -> Dict[str, Dict[str, float]]:
    """Merge the :attr:`VideoMetric.per_video` tables of evaluated metrics
    into one row per video (other metrics are ignored)."""
    rows: Dict[str, Dict[str, float]] = {}
    for metric in metrics:
        if isinstance(metric, VideoMetric):
            for video_id, values in metric.per_video.items():
                rows.setdefault(video_id, {}).update(values)
    return dict(sorted(rows.items()))


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ''
    return str(value)


def write_per_video_csv(path: str,
                        per_video: Mapping[str, Mapping[str, Any]],
                        columns: Optional[Sequence[str]] = None) -> None:
    """One row per video: ``video_id``, ``frames`` and the metric values
    (empty where a metric has no value for the video)."""
    if columns is None:
        names: List[str] = []
        for values in per_video.values():
            names.extend(name for name in values if name not in names)
        columns = ['frames'] + [name for name in names if name != 'frames']
    with atomic_write(path, 'w', encoding='utf-8', newline='') as file:
        writer = csv.writer(file)
        writer.writerow(['video_id', *columns])
        for video_id, values in per_video.items():
            writer.writerow([video_id, *(_cell(values.get(c)) for c in columns)])
