"""PyTorch eager against onnxruntime on the same frames (``benchmark.py onnx``).

One frame is what the demo computes per driving frame: the driving
keypoints, the motion (fit and warps), the dense motion and the generator;
the source keypoints are computed once. Each family's published
architecture (random weights) is exported with :func:`~cpabmm.deploy.export_onnx`
into a temporary folder and run by :class:`~cpabmm.apis.OnnxAnimator`.
"""
from __future__ import annotations

import os.path as osp
import tempfile
from typing import Dict, Sequence

import torch

from .forward import random_frames
from .settings import PUBLISHED_MODELS, check_model_names
from .timing import Stopwatch, measure


def _frame_function(model, source: torch.Tensor, driving: torch.Tensor):
    kp_source = model.detect_keypoints(source)

    def frame() -> torch.Tensor:
        with torch.no_grad():
            return model.animate(source, kp_source, model.detect_keypoints(driving))['prediction']
    return frame


def onnx_frame_timings(config_root: str, names: Sequence[str], size: int = 256,
                       repeats: int = 3, device: str = 'cpu') -> Dict[str, Dict[str, object]]:
    """Per family of ``names``: ``torch`` and ``onnx`` (per-frame
    :class:`~cpabmm.benchmarks.Timing`, the best of ``repeats`` after a
    warm-up), ``export`` (seconds to export), ``difference`` (mean absolute
    difference of the two predictions) and ``in_graph`` (whether the motion
    fit is inside the ONNX graphs). onnxruntime gets as many intra-op
    threads as torch has."""
    from cpabmm.apis import OnnxAnimator, init_model
    from cpabmm.deploy import export_onnx
    from cpabmm.engine import load_config
    check_model_names(names)
    threads = torch.get_num_threads()
    source, driving = random_frames(size, device=torch.device(device))
    results = {}
    for name in names:
        cfg = load_config(osp.join(config_root, PUBLISHED_MODELS[name]))
        cfg.model.image_size = (size, size)
        model = init_model(cfg, device=device)
        with tempfile.TemporaryDirectory() as folder, Stopwatch() as export:
            export_onnx(model.cpu(), folder, motion_config=cfg.model.motion)
            runtime = OnnxAnimator(folder, device=device, threads=threads)
        model.to(device)
        eager = _frame_function(model, source, driving)
        onnx = _frame_function(runtime, source, driving)
        results[name] = dict(
            torch=measure(eager, repeats, device=torch.device(device)),
            onnx=measure(onnx, repeats, device=torch.device(device)),
            export=export.elapsed.wall,
            difference=(eager().cpu() - onnx().cpu()).abs().mean().item(),
            in_graph=runtime.motion is None)
    return results
