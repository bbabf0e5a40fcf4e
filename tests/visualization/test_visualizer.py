"""The registered visualizer and the one keypoint palette."""
import numpy as np
import torch

from cpabmm.engine import AnimationVisualizationHook
from cpabmm.registry import VISUALIZERS
from cpabmm.visualization import (AnimationVisualizer, animation_panels, draw_keypoints,
                                  keypoint_colors)


def build(name, **kwargs):
    return VISUALIZERS.build(dict(type='AnimationVisualizer', name=name, **kwargs))


def make_visuals(batch, size, keypoints):
    visuals = {name: torch.rand(batch, 3, size, size)
               for name in ('source', 'driving', 'prediction')}
    visuals.update(kp_source={'value': keypoints}, kp_driving={'value': keypoints},
                   occlusion=[torch.rand(batch, 1, 8, 8), torch.ones(batch, 1, 16, 16)])
    return visuals


def test_built_from_the_registry():
    visualizer = build('test_registry', min_size=64)
    assert isinstance(visualizer, AnimationVisualizer) and visualizer.min_size == 64


def test_grid_has_one_row_per_sample_and_five_enlarged_columns():
    visuals = make_visuals(3, 32, torch.zeros(3, 10, 2))
    grid = build('test_grid', min_size=64).animation_grid(visuals)
    assert grid.shape == (3 * 64, 5 * 64, 3) and grid.dtype == np.uint8
    assert (grid[:, -64:] == 255).all()  # the finest occlusion mask (all ones), in grey
    prediction = (visuals['prediction'][0].permute(1, 2, 0) * 255).round().byte().numpy()
    np.testing.assert_array_equal(grid[:64:2, 128:192:2], prediction)  # enlarged x2, nearest
    assert build('test_small', min_size=16).animation_grid(visuals).shape == (96, 160, 3)


def test_rings_leave_the_centre_alone():
    image = np.zeros((64, 64, 3), np.uint8)
    ring = draw_keypoints(image, np.zeros((1, 2)), radius=4, filled=False)
    assert not ring[32, 32].any() and ring.any()


def test_one_colour_per_keypoint_index_in_every_picture():
    """Keypoint k has keypoint_colors(K)[k] in the demo panels and the
    training grid; its dot centre is that colour exactly."""
    count, size = 4, 128
    points = np.array([[-0.5, -0.5], [0.5, -0.5], [-0.5, 0.5], [0.5, 0.5]])
    centres = ((points + 1) / 2 * (size - 1)).round().astype(int)
    colors = keypoint_colors(count)
    frame = np.zeros((size, size, 3), np.uint8)
    panels = animation_panels(frame, frame, frame, [points] * 3)
    visuals = make_visuals(1, size, torch.from_numpy(points)[None].float())
    grid = build('test_palette', min_size=size).animation_grid(visuals)
    for k, (x, y) in enumerate(centres):
        np.testing.assert_array_equal(draw_keypoints(frame, points)[y, x], colors[k])
        for left in (0, size):  # source, driving
            np.testing.assert_array_equal(panels[y, left + x], colors[k])
            np.testing.assert_array_equal(grid[y, left + x], colors[k])


class Model(torch.nn.Module):
    def __init__(self, visuals):
        super().__init__()
        self.visuals, self.capture_visuals = visuals, 0


class Runner:
    def __init__(self, model, visualizer):
        self.model, self.visualizer, self.iter, self.rank = model, visualizer, 9, 0


def test_hook_sends_the_grid_through_the_visualizer(monkeypatch):
    visualizer = build('test_hook', min_size=32)
    images = []
    monkeypatch.setattr(visualizer, 'add_image',
                        lambda name, image, step: images.append((name, image.shape, step)))
    runner = Runner(Model(make_visuals(2, 32, torch.zeros(2, 5, 2))), visualizer)
    hook = AnimationVisualizationHook(interval=10, max_samples=2)
    hook.before_train(runner)
    hook.before_train_iter(runner, 0)
    assert runner.model.capture_visuals == 2
    hook.after_train_iter(runner, 0)
    assert images == [('train_animation', (64, 160, 3), 10)] and runner.model.visuals is None
