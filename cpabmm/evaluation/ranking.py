"""Pick the best and worst videos by one metric (for side-by-side videos)."""
from __future__ import annotations

import math
from typing import Any, List, Mapping, NamedTuple, Optional

#: Metrics where a larger value is better; every other metric is an error.
HIGHER_IS_BETTER = frozenset({'PSNR', 'SSIM'})


class Ranking(NamedTuple):
    best: List[str]
    worst: List[str]


def rank_videos(per_video: Mapping[str, Mapping[str, Any]],
                metric: str,
                count: int = 1,
                higher_is_better: Optional[bool] = None) -> Ranking:
    """The ``count`` best and worst video ids by ``metric``, best first and
    worst first. Videos without a finite value are left out; ties are broken
    by video id.

    Args:
        per_video: ``{video_id: {metric: value}}`` (see
            :func:`cpabmm.evaluation.outputs.collect_per_video`).
        metric: the column to rank by.
        count: how many videos each list holds at most.
        higher_is_better: the direction; by default True for PSNR and SSIM
            and False for the others.
    """
    if count < 1:
        raise ValueError(f'count must be at least 1, got {count}')
    if higher_is_better is None:
        higher_is_better = metric in HIGHER_IS_BETTER
    values = {
        video_id: float(row[metric])
        for video_id, row in per_video.items()
        if isinstance(row.get(metric), (int, float)) and math.isfinite(row[metric])
    }
    if not values:
        known = sorted({name for row in per_video.values() for name in row})
        raise ValueError(
            f'no video has a value for {metric!r} (columns: {", ".join(known)})')
    sign = -1.0 if higher_is_better else 1.0
    ordered = sorted(values, key=lambda video_id: (sign * values[video_id], video_id))
    worst = sorted(values, key=lambda video_id: (-sign * values[video_id], video_id))
    return Ranking(best=ordered[:count], worst=worst[:count])
