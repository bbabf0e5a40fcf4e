"""Images of the training batch: source | driving | prediction | keypoints | occlusion."""
from __future__ import annotations

from mmengine.hooks import Hook

from cpabmm.registry import HOOKS
from cpabmm.visualization import AnimationVisualizer
from .epoch_hook import unwrap


@HOOKS.register_module()
class AnimationVisualizationHook(Hook):
    """Every ``interval`` training iterations, show the batch's first
    ``max_samples`` samples as ``source | driving | prediction | keypoints |
    occlusion`` through the runner's visualizer, which must be an
    :class:`~cpabmm.visualization.AnimationVisualizer` (as in
    ``configs/_base_/default_runtime.py``).

    The visualizer writes the image to every configured backend: the
    default ``LocalVisBackend`` saves ``<work_dir>/<timestamp>/vis_data/
    vis_image/train_animation_<iter>.png``; add ``TensorboardVisBackend``
    (``visualizer = dict(type='AnimationVisualizer', vis_backends=[dict(type=
    'LocalVisBackend'), dict(type='TensorboardVisBackend')])``, needs the
    ``tensorboard`` package) to see it in TensorBoard too.

    Args:
        interval: iterations between images.
        max_samples: rows per image.
        name: the image's name for the visualizer.
    """

    priority = 'LOW'

    def __init__(self, interval: int = 500, max_samples: int = 4,
                 name: str = 'train_animation'):
        if interval < 1 or max_samples < 1:
            raise ValueError(f'interval and max_samples must be positive, got {interval} and '
                             f'{max_samples}')
        self.interval = interval
        self.max_samples = max_samples
        self.name = name

    def before_train(self, runner) -> None:
        if not isinstance(runner.visualizer, AnimationVisualizer):
            raise TypeError(
                f'{type(self).__name__} needs an AnimationVisualizer, the runner has a '
                f"{type(runner.visualizer).__name__}; set visualizer = dict(type="
                "'AnimationVisualizer', vis_backends=[dict(type='LocalVisBackend')])")

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self.every_n_train_iters(runner, self.interval):
            unwrap(runner.model).capture_visuals = self.max_samples

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        model = unwrap(runner.model)
        visuals, model.visuals = model.visuals, None
        if visuals is not None and runner.rank == 0:
            runner.visualizer.add_animation(self.name, visuals, step=runner.iter + 1)
