"""Building metric lists, with unavailable optional metrics skipped."""
from __future__ import annotations

import copy
from typing import Dict, List, Sequence, Tuple

from mmengine.evaluator import BaseMetric

from cpabmm.registry import METRICS
from .errors import MetricUnavailableError

#: The metrics a test run computes when its config names none: those whose
#: networks are missing are skipped with the reason. ``MotionError`` joins
#: them on the synthetic benchmark, with ``MotionMagnitudeBreakdown``
#: (motion error, L1, PSNR, SSIM per tercile of the true motion).
DEFAULT_METRICS: Tuple[dict, ...] = (
    dict(type='L1'),
    dict(type='PSNR'),
    dict(type='SSIM'),
    dict(type='LPIPS'),
    dict(type='AKD'),
)


def default_metric_configs(synthetic: bool = False) -> List[dict]:
    """Copies of :data:`DEFAULT_METRICS`, plus ``MotionError`` and
    ``MotionMagnitudeBreakdown`` when ``synthetic``."""
    configs = [copy.deepcopy(cfg) for cfg in DEFAULT_METRICS]
    if synthetic:
        configs += [dict(type='MotionError'), dict(type='MotionMagnitudeBreakdown')]
    return configs


def build_metrics(configs: Sequence[dict],
                  skip_unavailable: bool = False
                  ) -> Tuple[List[BaseMetric], Dict[str, str]]:
    """Build metrics from ``METRICS`` configs.

    Args:
        configs: metric configs.
        skip_unavailable: when True, a metric whose package or weights are
            missing is left out and listed with the reason; when False (a
            config that asks for the metric explicitly) the one-line
            :class:`MetricUnavailableError` propagates.

    Returns:
        The built metrics and ``{metric type: reason}`` of those skipped.
    """
    metrics: List[BaseMetric] = []
    skipped: Dict[str, str] = {}
    for config in configs:
        try:
            metrics.append(METRICS.build(copy.deepcopy(config)))
        except MetricUnavailableError as error:
            if not skip_unavailable:
                raise
            skipped[str(config.get('type'))] = str(error)
    return metrics, skipped
