"""The official TPSMM and FOMM networks, imported from their own source
trees, for ``tools/benchmark.py model --official DIR``.

``DIR`` holds the official repositories as published (nothing of them is
copied into cpabmm): ``DIR/Thin-Plate-Spline-Motion-Model/`` and
``DIR/first-order-model/``. Their networks are built with random weights from
the constructor arguments of each tree's ``config/vox-256.yaml`` and animate
one frame as each tree's ``demo.py`` does, in its standard (absolute) mode,
on the same work as ours (:meth:`cpabmm.models.ImageAnimator.compute_outputs`
in eval mode):

* TPSMM: ``kp_detector`` on the source and the driving frame, the
  background predictor on the pair (ours runs it in eval mode too; the
  official ``demo.py`` leaves it out), ``dense_motion_network`` and
  ``inpainting_network``;
* FOMM: ``kp_detector`` on the source and the driving frame and the
  ``OcclusionAwareGenerator`` (with its dense motion network).
"""
from __future__ import annotations

import importlib
import os.path as osp
import statistics
import sys
from contextlib import contextmanager
from typing import Dict, Iterator, Optional

import torch
from torch import Tensor, nn

from .forward import count_aten_ops, random_frames
from .timing import Stopwatch, Timing

#: the folder of each official tree under ``--official DIR``
OFFICIAL_TREES = {
    'FOMM': 'first-order-model',
    'TPSMM': 'Thin-Plate-Spline-Motion-Model',
}
#: the config each official network is built from (relative to its tree)
OFFICIAL_CONFIG = osp.join('config', 'vox-256.yaml')
#: the top-level packages of the trees: both name theirs ``modules``
TREE_PACKAGES = ('modules', 'sync_batchnorm')


def official_tree(root: str, name: str) -> str:
    """The folder of the official ``name`` ('TPSMM' or 'FOMM') under ``root``."""
    if name not in OFFICIAL_TREES:
        raise ValueError(f'no official tree for {name!r}: {sorted(OFFICIAL_TREES)} have one')
    return osp.join(root, OFFICIAL_TREES[name])


def available_official(root: Optional[str]) -> Dict[str, str]:
    """``{name: tree folder}`` of the official trees present under ``root``
    (a tree counts when it has its ``modules/`` package and its config)."""
    found = {}
    for name in OFFICIAL_TREES:
        tree = official_tree(root, name) if root else ''
        if root and osp.isdir(osp.join(tree, 'modules')) and osp.isfile(
                osp.join(tree, OFFICIAL_CONFIG)):
            found[name] = tree
    return found


def _is_tree_module(module_name: str) -> bool:
    return module_name.split('.')[0] in TREE_PACKAGES


@contextmanager
def tree_imports(tree: str) -> Iterator[None]:
    """Import from the official ``tree`` within the block: its root first on
    ``sys.path``, and no ``modules``/``sync_batchnorm`` package of another
    tree in ``sys.modules``. On exit the path and the modules are as before,
    so that the two trees (both name their package ``modules``) never see
    each other's files. The classes imported stay usable after the block."""
    saved = {n: m for n, m in sys.modules.items() if _is_tree_module(n)}
    for n in saved:
        del sys.modules[n]
    sys.path.insert(0, tree)
    try:
        yield
    finally:
        sys.path.remove(tree)
        for n in [n for n in sys.modules if _is_tree_module(n)]:
            del sys.modules[n]
        sys.modules.update(saved)


def read_config(tree: str) -> dict:
    import yaml
    with open(osp.join(tree, OFFICIAL_CONFIG)) as f:
        return yaml.safe_load(f)['model_params']


class OfficialNetworks(nn.Module):
    """The networks of an official tree, with random weights; ``forward``
    animates one frame of ``driving`` from ``source`` and returns the
    prediction. Subclasses name the classes to import (``imports``: module
    of the tree -> class) and build them from the config's ``model_params``."""

    imports: Dict[str, str] = {}

    def __init__(self, tree: str) -> None:
        super().__init__()
        with tree_imports(tree):
            classes = {name: getattr(importlib.import_module(module), name)
                       for module, name in self.imports.items()}
        self.build(classes, read_config(tree))

    def build(self, classes: Dict[str, type], params: dict) -> None:
        raise NotImplementedError


class OfficialTPSMM(OfficialNetworks):
    """The official TPSMM: keypoints, background, dense motion, inpainting."""

    imports = {'modules.keypoint_detector': 'KPDetector',
               'modules.bg_motion_predictor': 'BGMotionPredictor',
               'modules.dense_motion': 'DenseMotionNetwork',
               'modules.inpainting_network': 'InpaintingNetwork'}

    def build(self, classes: Dict[str, type], params: dict) -> None:
        common = params['common_params']
        self.kp_detector = classes['KPDetector'](**common)
        self.bg_predictor = classes['BGMotionPredictor']() if common.get('bg') else None
        self.dense_motion_network = classes['DenseMotionNetwork'](
            **common, **params['dense_motion_params'])
        self.inpainting_network = classes['InpaintingNetwork'](**params['generator_params'],
                                                               **common)

    def forward(self, source: Tensor, driving: Tensor) -> Tensor:
        kp_source = self.kp_detector(source)
        kp_driving = self.kp_detector(driving)
        bg_param = self.bg_predictor(source, driving) if self.bg_predictor else None
        dense_motion = self.dense_motion_network(source_image=source, kp_driving=kp_driving,
                                                 kp_source=kp_source, bg_param=bg_param,
                                                 dropout_flag=False)
        return self.inpainting_network(source, dense_motion)['prediction']


class OfficialFOMM(OfficialNetworks):
    """The official FOMM: keypoints and the generator with its dense motion."""

    imports = {'modules.keypoint_detector': 'KPDetector',
               'modules.generator': 'OcclusionAwareGenerator'}

    def build(self, classes: Dict[str, type], params: dict) -> None:
        common = params['common_params']
        self.kp_detector = classes['KPDetector'](**params['kp_detector_params'], **common)
        self.generator = classes['OcclusionAwareGenerator'](**params['generator_params'],
                                                            **common)

    def forward(self, source: Tensor, driving: Tensor) -> Tensor:
        kp_source = self.kp_detector(source)
        kp_driving = self.kp_detector(driving)
        return self.generator(source, kp_source=kp_source, kp_driving=kp_driving)['prediction']


OFFICIAL_MODELS = {'FOMM': OfficialFOMM, 'TPSMM': OfficialTPSMM}


def build_official(root: str, name: str, device: Optional[torch.device] = None) -> nn.Module:
    """The official ``name`` network of ``root`` with random weights, in eval
    mode on ``device``."""
    tree = official_tree(root, name)
    if not osp.isdir(osp.join(tree, 'modules')):
        raise FileNotFoundError(f'no official {name} tree at {tree} (its modules/ package)')
    return OFFICIAL_MODELS[name](tree).to(device or 'cpu').eval()


@torch.no_grad()
@torch.no_grad()
def alternating_forward_times(ours: nn.Module, official: nn.Module, size: int = 256,
                              rounds: int = 3, seed: int = 0) -> Dict[str, Timing]:
    """Median seconds per frame of ``ours`` (an :class:`ImageAnimator`:
    ``compute_outputs``) and of ``official`` (:func:`build_official`), both
    in eval mode on the same frames, timed in alternation after a warm-up
    pass each: ours then official in even rounds, official then ours in odd
    ones, so that a change in the machine's load falls on both alike (timed
    one after the other, the same two networks differed by up to 15% on a
    shared 2-core machine). Returns ``{'ours': Timing, 'official': Timing}``."""
    if rounds < 1:
        raise ValueError(f'rounds must be at least 1, got {rounds}')
    device = next(ours.parameters()).device
    source, driving = random_frames(size, seed=seed, device=device)
    ours.eval()
    official.eval()
    forwards = {'ours': lambda: ours.compute_outputs(source, driving),
                'official': lambda: official(source, driving)}
    times: Dict[str, list] = {name: [] for name in forwards}
    for forward in forwards.values():
        forward()
    for round_index in range(rounds):
        order = list(forwards) if round_index % 2 == 0 else list(reversed(forwards))
        for name in order:
            with Stopwatch(device) as watch:
                forwards[name]()
            times[name].append(watch.elapsed)
    return {name: Timing(statistics.median(t.wall for t in timings),
                         statistics.median(t.cpu for t in timings))
            for name, timings in times.items()}


def count_official_ops(model: nn.Module, size: int = 256, seed: int = 0) -> int:
    """:func:`cpabmm.benchmarks.count_aten_ops` of one frame of an official network."""
    device = next(model.parameters()).device
    source, driving = random_frames(size, seed=seed, device=device)
    return count_aten_ops(model, source, driving)
