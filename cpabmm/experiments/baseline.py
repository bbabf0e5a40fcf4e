"""The motion-free baseline: every driving frame predicted by the source frame."""
from __future__ import annotations

from typing import Any, Dict

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from cpabmm.models.layers.geometry import coordinate_grid
from cpabmm.registry import EVALUATOR, MODELS


@torch.no_grad()
def motion_free_metrics(cfg: Config) -> Dict[str, Any]:
    """The test metrics of ``cfg`` (its test split and evaluator) for a model
    that does not move: the prediction is the source frame and the backward
    flow the identity, so the motion error is the true keypoint motion."""
    init_default_scope('cpabmm')
    loader = Runner.build_dataloader(cfg.test_dataloader)
    preprocess = MODELS.build(cfg.model.data_preprocessor)
    evaluator = EVALUATOR.build(cfg.test_evaluator)
    evaluator.dataset_meta = loader.dataset.metainfo
    for batch in loader:
        data = preprocess(batch, False)
        source, driving = data['inputs']['source'], data['inputs']['driving']
        flow = coordinate_grid(source.shape[-2:], dtype=source.dtype)
        samples = [dict(prediction=source[i], source=source[i], driving=driving[i], flow=flow,
                        metainfo=metainfo)
                   for i, metainfo in enumerate(data['data_samples'])]
        evaluator.process(samples)
    return evaluator.evaluate(len(loader.dataset))
