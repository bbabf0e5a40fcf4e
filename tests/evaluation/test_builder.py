"""Building metrics from configs, and registration through locations."""
import subprocess
import sys

import pytest

from cpabmm.evaluation import (L1, MetricUnavailableError, MotionError,
                               build_metrics, default_metric_configs)
from tests.conftest import REPO_ROOT


def test_unavailable_metrics_are_skipped_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))   # no LPIPS weights there
    monkeypatch.setitem(sys.modules, 'mediapipe', None)
    metrics, skipped = build_metrics(default_metric_configs(synthetic=True),
                                     skip_unavailable=True)
    assert [type(m).__name__ for m in metrics] == ['L1', 'PSNR', 'SSIM', 'MotionError',
                                                   'MotionMagnitudeBreakdown']
    assert isinstance(metrics[0], L1) and isinstance(metrics[-2], MotionError)
    assert sorted(skipped) == ['AKD', 'LPIPS']
    assert 'backbone weights not found' in skipped['LPIPS']
    assert 'mediapipe' in skipped['AKD']


def test_explicitly_requested_unavailable_metric_fails(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    with pytest.raises(MetricUnavailableError, match='backbone weights not found'):
        build_metrics([dict(type='L1'), dict(type='LPIPS')])


def test_default_configs_are_copies():
    configs = default_metric_configs()
    configs[0]['type'] = 'changed'
    assert default_metric_configs()[0]['type'] == 'L1'
    assert 'MotionError' not in [c['type'] for c in default_metric_configs()]


def test_metrics_register_through_the_registry_locations():
    """A fresh interpreter builds every metric by name without importing
    ``cpabmm.evaluation`` by hand."""
    code = (
        'from mmengine.registry import init_default_scope\n'
        'from cpabmm.registry import METRICS\n'
        "init_default_scope('cpabmm')\n"
        "names = ['L1', 'PSNR', 'SSIM', 'LPIPS', 'AKD', 'AED', 'MotionError']\n"
        'print(all(METRICS.get(n) is not None for n in names))\n')
    result = subprocess.run([sys.executable, '-c', code], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == 'True', result.stderr
