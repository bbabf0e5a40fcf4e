"""A tiny model and dataset registered for runner tests."""
import time

import torch
from mmengine.dataset import BaseDataset
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from torch import nn

from cpabmm.registry import DATASETS, HOOKS, MODELS


@MODELS.register_module(force=True)
class TinyRegressor(BaseModel):
    """A two-layer regressor: just enough to exercise the runner."""

    def __init__(self, in_features: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, inputs, targets, mode='tensor', **meta):
        prediction = self.net(inputs)
        if mode == 'loss':
            return {'loss_mse': nn.functional.mse_loss(prediction, targets)}
        return prediction


@DATASETS.register_module(force=True)
class TinyRegressionDataset(BaseDataset):
    """Fixed random samples of a linear target."""

    def __init__(self, length: int, in_features: int):
        self.length, self.in_features = length, in_features
        super().__init__(serialize_data=False, lazy_init=False)

    def load_data_list(self):
        generator = torch.Generator().manual_seed(1)
        x = torch.randn(self.length, self.in_features, generator=generator)
        y = x.sum(dim=1, keepdim=True)
        return [dict(inputs=x[i], targets=y[i]) for i in range(self.length)]


@HOOKS.register_module(force=True)
class RankWeightsDumpHook(Hook):
    """Save each rank's final weights, to check that ranks stay in sync."""

    def after_train(self, runner) -> None:
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        torch.save(model.state_dict(), f'{runner.work_dir}/weights_rank{runner.rank}.pt')


@HOOKS.register_module(force=True)
class IterDelayHook(Hook):
    """Slow each iteration down so that a test can kill a run mid-way."""

    def __init__(self, seconds: float = 0.0):
        self.seconds = seconds

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        time.sleep(self.seconds)
