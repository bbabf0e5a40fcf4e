"""The evaluator of test runs: named metrics, or a default set with the
metrics that cannot run here skipped and explained."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.evaluator import Evaluator

from cpabmm.evaluation import build_metrics, default_metric_configs
from cpabmm.registry import EVALUATOR

#: Default metrics that do not apply to a set, with the reason.
_NOT_APPLICABLE = {
    'faces': {},
    'synthetic': {
        'AKD': 'the synthetic benchmark has no faces for a landmark detector; '
               'MotionError compares with its ground-truth keypoints instead'},
    'no_landmarks': {
        'AKD': 'no landmark detector applies to this dataset: register one '
               "(docs/evaluation.md) and list dict(type='AKD', detector=...) in "
               "the evaluator's metrics"},
    'animation': {
        **{config['type']: 'compares with the driving frame, which shows another '
                           'identity in cross-identity animation'
           for config in default_metric_configs()},
        'AED': 'needs an identity embedder (none is bundled): list '
               "dict(type='AED', gt_key='source', embedder=...) in the "
               "evaluator's metrics"},
}
#: The default metric sets (see :class:`AnimationEvaluator`).
DEFAULT_SETS = tuple(_NOT_APPLICABLE)


def _default_set(name: str) -> Tuple[List[dict], Dict[str, str]]:
    """The metric configs of a default set and ``{metric: reason}`` of the
    default metrics that do not apply to it."""
    if name not in _NOT_APPLICABLE:
        raise ValueError(f'unknown default_set {name!r}; choose from {list(DEFAULT_SETS)}')
    not_applicable = dict(_NOT_APPLICABLE[name])
    configs = default_metric_configs(synthetic=name == 'synthetic')
    return [c for c in configs if c['type'] not in not_applicable], not_applicable


@EVALUATOR.register_module()
class AnimationEvaluator(Evaluator):
    """MMEngine's evaluator over metrics built by
    :func:`cpabmm.evaluation.build_metrics`.

    Metrics named in ``metrics`` are required: one whose package or weights
    are missing stops the run before any frame is animated, with a one-line
    ``MetricUnavailableError``. Without ``metrics``, the ``default_set`` is
    used and its unavailable metrics are skipped; :attr:`skipped` lists
    ``{metric: reason}`` for those and for default metrics that do not apply
    to the dataset.

    Default sets:

    * ``'faces'``: L1, PSNR, SSIM, LPIPS, AKD/MKR (MediaPipe face mesh);
    * ``'synthetic'``: L1, PSNR, SSIM, LPIPS, MotionError, and motion error, L1,
      PSNR and SSIM per tercile of the true motion (MotionMagnitudeBreakdown);
    * ``'no_landmarks'``: L1, PSNR, SSIM, LPIPS (bodies, cartoons);
    * ``'animation'``: none (cross-identity animation has no ground-truth
      frame; AED needs a user-provided identity embedder).

    Args:
        metrics: metric configs (or built metrics) that must all run.
        default_set: the set used when ``metrics`` is None.
    """

    def __init__(self, metrics: Optional[Sequence] = None,
                 default_set: str = 'faces') -> None:
        if isinstance(metrics, dict):
            metrics = [metrics]
        if metrics is None:
            configs, self.skipped = _default_set(default_set)
            built, unavailable = build_metrics(configs, skip_unavailable=True)
            self.skipped.update(unavailable)
        else:
            self.skipped = {}
            built = [build_metrics([m])[0][0] if isinstance(m, dict) else m
                     for m in metrics]
        super().__init__(built)
