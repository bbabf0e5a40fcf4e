"""Timing of the animator's training step (``tools/benchmark.py train``)."""
from __future__ import annotations

import copy
import os.path as osp
from typing import Dict, Iterator, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from cpabmm.models.losses.reconstruction import PUBLISHED_SCALES
from cpabmm.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from .settings import PUBLISHED_MODELS, SYNTHETIC_CONFIGS, check_model_names
from .timing import Timing, measure


#: the smallest image VGG-19 takes to relu5_1 (four 2x2 poolings)
VGG_MIN_SIZE = 16


def random_vgg_perceptual(size: int) -> dict:
    """The published VGG-19 perceptual pyramid loss term with random weights
    (the ImageNet ones cost the same and cannot be fetched offline), at the
    published scales whose images VGG-19 takes at ``size`` px (all from 128
    px; at 64, 1 to 0.25)."""
    scales = tuple(scale for scale in PUBLISHED_SCALES if size * scale >= VGG_MIN_SIZE)
    return dict(type='ImageLossTerm',
                loss=dict(type='PerceptualPyramidLoss', scales=scales,
                          backbone=dict(type='VGG19', pretrained=False)))


def training_config(config_root: str, name: str, size: int, perceptual: bool = False) -> Config:
    """What to time for model family ``name``: at 64 px its synthetic config;
    at other sizes the published architecture with the synthetic config's
    weight-free losses (the VGG-19, SAM and DINO weights cannot be fetched
    offline), so that the families compare with the same losses. With
    ``perceptual``, the published VGG-19 perceptual pyramid loss is added
    (random weights, :func:`random_vgg_perceptual`)."""
    check_model_names([name])
    synthetic = Config.fromfile(osp.join(config_root, SYNTHETIC_CONFIGS[name]))
    if size == 64:
        cfg = synthetic
    else:
        cfg = Config.fromfile(osp.join(config_root, PUBLISHED_MODELS[name]))
        cfg.model.losses = synthetic.model.losses
        cfg.model.image_size = (size, size)
    if perceptual:
        cfg.model.losses['perceptual'] = random_vgg_perceptual(size)
    return cfg


def build_for_training(cfg: Config, device: torch.device):
    """The model (training mode) and its optimiser wrappers."""
    init_default_scope('cpabmm')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(device).train()
    options = {k: v for k, v in cfg.optim_wrapper.items() if k != 'constructor'}
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=cfg.optim_wrapper.constructor, optim_wrapper_cfg=options))
    return model, constructor(model)


#: the frozen-network loss sets timed in CPABMM's training step:
#: ``(label, with the SAM loss, with the DINO loss)``
FROZEN_LOSS_SETS = (
    ('without SAM and DINO', False, False),
    ('SAM', True, False),
    ('DINO', False, True),
    ('SAM + DINO', True, True),
)


def with_frozen_losses(cfg: Config, sam: Optional[Union[str, dict]] = None,
                       dino: Optional[dict] = None) -> Config:
    """A copy of ``cfg`` with CPABMM's SAM keypoint semantic loss (encoder
    arch ``sam``; memory feature cache) and/or DINO structure alignment loss
    (``DINOViT`` arguments ``dino``, ``{}`` for the published ViT-B/8)
    added, both with random-weight backbones (``pretrained=False``: the
    same cost as the published weights)."""
    cfg = copy.deepcopy(cfg)
    if sam is not None:
        encoder = dict(type='SAMImageEncoder', arch=sam, pretrained=False)
        cfg.model.losses['keypoint_semantic'] = dict(
            type='KeypointSemanticTerm', loss=dict(type='KeypointSemanticLoss', encoder=encoder))
    if dino is not None:
        backbone = dict(type='DINOViT', pretrained=False, **dino)
        cfg.model.losses['structure'] = dict(
            type='ImageLossTerm', loss=dict(type='StructureAlignmentLoss', backbone=backbone))
    return cfg


def time_train_step(cfg: Config, batch: int, repeats: int,
                    device: Optional[torch.device] = None,
                    cold: bool = False) -> Dict[str, float]:
    """Seconds per ``train_step`` (forward, backward, every optimiser step) on
    random frames: the minimum wall and process CPU time over ``repeats``
    steps on the frames of one warm-up step (``wall``, ``cpu``: a feature
    cache is warm). With ``cold``, also over ``repeats`` steps on new frames
    each (``cold_wall``, ``cold_cpu``: a feature cache never hits)."""
    device = device or torch.device('cpu')
    model, optimisers = build_for_training(cfg, device)
    height, width = cfg.model.image_size
    generator = torch.Generator().manual_seed(0)

    def frames() -> Dict[str, torch.Tensor]:
        return {key: torch.rand(batch, 3, height, width, generator=generator).to(device)
                for key in ('source', 'driving')}

    data = frames()
    warm = measure(lambda: model.train_step(data, optimisers), repeats, device=device)
    result = {'wall': warm.wall, 'cpu': warm.cpu}
    if cold:
        fresh = measure(lambda: model.train_step(frames(), optimisers), repeats,
                        warmup=False, device=device)
        result.update(cold_wall=fresh.wall, cold_cpu=fresh.cpu)
    return result


def frozen_loss_step_times(cfg: Config, sam_arch: Union[str, dict], batch: int, repeats: int,
                           device: Optional[torch.device] = None, dino_arch: Optional[dict] = None
                           ) -> Iterator[Tuple[str, Timing]]:
    """``(label, Timing)`` of the training step of ``cfg`` with each of
    :data:`FROZEN_LOSS_SETS` (SAM encoder ``sam_arch``, DINOViT arguments
    ``dino_arch``, by default the published ViT-B/8), as they are measured:
    the sets with the SAM loss give a warm-cache and a cold-cache row
    (:func:`time_train_step`)."""
    dino_arch = {} if dino_arch is None else dino_arch
    for label, sam, dino in FROZEN_LOSS_SETS:
        t = time_train_step(with_frozen_losses(cfg, sam_arch if sam else None,
                                               dino_arch if dino else None),
                            batch, repeats, device, cold=sam)
        if not sam:
            yield label, Timing(t['wall'], t['cpu'])
            continue
        yield f'{label}, warm cache', Timing(t['wall'], t['cpu'])
        yield f'{label}, cold cache', Timing(t['cold_wall'], t['cold_cpu'])


def config_step_timings(paths: Sequence[str], repeats: int,
                        device: Optional[torch.device] = None,
                        options: Optional[dict] = None) -> Dict[str, Timing]:
    """The training step of each config file of ``paths`` as it trains: its
    own model, losses, optimisers, frame size and batch
    (``train_dataloader.batch_size``), with ``options`` merged in (as
    ``--cfg-options``): ``{path: Timing}``."""
    results: Dict[str, Timing] = {}
    for path in paths:
        cfg = Config.fromfile(path)
        if options:
            cfg.merge_from_dict(options)
        t = time_train_step(cfg, cfg.train_dataloader.batch_size, repeats, device)
        results[path] = Timing(t['wall'], t['cpu'])
    return results


def train_step_timings(config_root: str, names: Sequence[str], size: int, batch: int,
                       repeats: int, device: Optional[torch.device] = None,
                       amp: bool = False,
                       perceptual: bool = False) -> Dict[str, Dict[str, Timing]]:
    """The training step of each model family of ``names`` (:func:`training_config`,
    with the VGG perceptual loss with ``perceptual``) at ``size`` px and
    ``batch`` frames: ``{name: {'float32': Timing}}``, plus ``'bfloat16'``
    (autocast, ``tools/train.py --amp``) with ``amp``."""
    results: Dict[str, Dict[str, Timing]] = {}
    for name in names:
        cfg = training_config(config_root, name, size, perceptual)
        precisions = [None, 'bfloat16'] if amp else [None]
        results[name] = {}
        for precision in precisions:
            cfg.model.mixed_precision = precision
            t = time_train_step(cfg, batch, repeats, device)
            results[name][precision or 'float32'] = Timing(t['wall'], t['cpu'])
    return results
