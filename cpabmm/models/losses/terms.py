"""Loss terms: the registered losses fed from the animator's forward pass.

The losses in :mod:`cpabmm.models.losses` take plain tensors (a prediction
and a target, keypoints, encoder features, ...). The animator calls every
entry of ``model.losses`` the same way, ``term(outputs, inputs, animator)``
with the dict of :meth:`ImageAnimator.compute_outputs`, the input images and
the animator itself, and expects a dict of named loss tensors. A *term* is
the thin adapter between the two: it picks the arguments its loss needs
(running the animator's networks where a loss needs more, e.g. the
keypoint detector on a warped frame) and returns the loss's dict.

Terms whose loss holds a frozen pretrained network (VGG-19, DINO, SAM) build
it at their first call (``lazy``): a published config then builds without
those weight files, e.g. for inference, and a missing file is reported when
training starts. A lazily built loss may not have trainable parameters, and
its entries are kept out of the model's checkpoints.
"""
from __future__ import annotations

import hashlib
from typing import Any, Dict, List, Mapping, Optional, Union

import torch
from torch import Tensor, nn

from cpabmm.registry import MODELS

ConfigType = Union[dict, nn.Module]
LossDict = Dict[str, Tensor]


class LossTerm(nn.Module):
    """Base class: owns one registered loss (``self.loss``) and feeds it.

    Subclasses set ``default_loss`` (the loss config used when ``loss`` is
    None), ``lazy`` (build at the first call) and implement
    :meth:`forward`.

    Args:
        loss: the loss config (or module); None uses ``default_loss``.
    """

    default_loss: dict = {}
    lazy: bool = False
    #: whether the term reads the outputs of the full forward pass
    needs_outputs: bool = True

    def __init__(self, loss: Optional[ConfigType] = None):
        super().__init__()
        cfg = dict(self.default_loss) if loss is None else loss
        self._loss_cfg: Optional[dict] = None
        if self.lazy and isinstance(cfg, dict):
            self._loss_cfg = dict(cfg)
            self.loss = None
            self._register_state_dict_hook(_drop_lazy_entries)
            self.register_load_state_dict_pre_hook(_ignore_lazy_entries)
        else:
            self.loss = MODELS.build(cfg) if isinstance(cfg, dict) else cfg

    def built_loss(self, like: Tensor) -> nn.Module:
        """The loss module, built now if it is lazy, on ``like``'s device."""
        if self.loss is None:
            loss = MODELS.build(self._loss_cfg)
            trainable = [name for name, p in loss.named_parameters() if p.requires_grad]
            if trainable:
                raise ValueError(
                    f'{type(self).__name__} builds its loss lazily, but '
                    f'{self._loss_cfg.get("type")} has trainable parameters '
                    f'({trainable[0]}, ...); give it to a term that builds it eagerly')
            self.loss = loss.to(like.device)
        return self.loss

    def forward(self, outputs: Dict[str, Any], inputs: Mapping[str, Tensor],
                animator: nn.Module) -> LossDict:
        raise NotImplementedError


def _drop_lazy_entries(module: LossTerm, state_dict: dict, prefix: str, *args) -> None:
    """State-dict hook: a lazily built loss is not part of checkpoints."""
    for key in [key for key in state_dict if key.startswith(prefix + 'loss.')]:
        del state_dict[key]


def _ignore_lazy_entries(module: LossTerm, state_dict: dict, prefix: str, *args) -> None:
    """Load pre-hook: entries of a lazily built loss (from a checkpoint written
    elsewhere) are skipped rather than reported unexpected."""
    for key in [key for key in state_dict if key.startswith(prefix + 'loss.')]:
        del state_dict[key]


@MODELS.register_module()
class ImageLossTerm(LossTerm):
    """``loss(prediction, driving)``: image losses (the VGG-19 perceptual
    pyramid by default; ``ReconstructionPyramidLoss``,
    ``StructureAlignmentLoss``)."""

    default_loss = dict(type='PerceptualPyramidLoss')
    lazy = True

    def forward(self, outputs, inputs, animator) -> LossDict:
        prediction = outputs['prediction']
        return self.built_loss(prediction)(prediction, inputs['driving'])


@MODELS.register_module()
class EquivarianceTerm(LossTerm):
    """``EquivarianceLoss`` with the animator's keypoint detector on a
    randomly warped driving frame."""

    default_loss = dict(type='EquivarianceLoss')

    def forward(self, outputs, inputs, animator) -> LossDict:
        return self.loss(animator.detect_keypoints, inputs['driving'], outputs['kp_driving'])


@MODELS.register_module()
class WarpLossTerm(LossTerm):
    """``WarpLoss`` between the driving frame's masked encoder features and
    the warped source features of the generator (TPSMM's inpainting
    generator, which provides ``encode_driving``)."""

    default_loss = dict(type='WarpLoss')

    def forward(self, outputs, inputs, animator) -> LossDict:
        generator = animator.generator
        if not hasattr(generator, 'encode_driving') or 'warped_encoder_maps' not in outputs:
            raise ValueError(f'the warp loss needs a generator with encoder features '
                             f'(InpaintingGenerator); {type(generator).__name__} has none: '
                             'remove the warp term from model.losses')
        targets = generator.encode_driving(inputs['driving'], outputs['occlusion'])
        # encode_driving is finest first, the warped maps coarsest first
        return self.loss(targets, outputs['warped_encoder_maps'][::-1])


@MODELS.register_module()
class BackgroundCycleTerm(LossTerm):
    """``BackgroundCycleLoss`` of ``A(source, driving)`` and
    ``A(driving, source)``; nothing while the background is off (before
    ``bg_start``, or without a background predictor)."""

    default_loss = dict(type='BackgroundCycleLoss')

    def forward(self, outputs, inputs, animator) -> LossDict:
        forward = outputs.get('bg_affine')
        if forward is None:
            return {}
        backward = animator.background(inputs['driving'], inputs['source'])
        return self.loss(forward, backward)


def frame_keys(images: Tensor) -> List[str]:
    """One content digest per ``[C, H, W]`` frame of a batch: the same frame
    (after every augmentation) gets the same key, any change another."""
    frames = images.detach().to('cpu', torch.float32).contiguous()
    return [hashlib.blake2b(frame.numpy().tobytes(), digest_size=16).hexdigest()
            for frame in frames]


@MODELS.register_module()
class KeypointSemanticTerm(LossTerm):
    """CPABMM's SAM keypoint semantic loss on the source and driving frames
    and their keypoints.

    With a feature cache, frames are keyed by their content
    (:func:`frame_keys`), so each distinct frame, as augmented, is encoded
    once: geometric augmentation (flips, crops) repeats and hits the cache;
    photometric jitter makes every frame new.
    """

    default_loss = dict(type='KeypointSemanticLoss')
    lazy = True

    def forward(self, outputs, inputs, animator) -> LossDict:
        source, driving = inputs['source'], inputs['driving']
        loss = self.built_loss(source)
        cached = loss.cache is not None
        return loss(source, driving, outputs['kp_source'], outputs['kp_driving'],
                    source_keys=frame_keys(source) if cached else None,
                    driving_keys=frame_keys(driving) if cached else None)


@MODELS.register_module()
class AdversarialTerm(LossTerm):
    """FOMM's adversarial loss: the generator's LSGAN and feature-matching
    terms here; the discriminator's term through
    :meth:`discriminator_forward`, which the animator's ``train_step`` runs
    after the generator step (the discriminator needs its own optimiser:
    ``losses.<name>.loss.discriminator``)."""

    default_loss = dict(type='AdversarialLoss')

    def forward(self, outputs, inputs, animator) -> LossDict:
        return self.loss.generator_loss(outputs['prediction'], inputs['driving'],
                                        outputs['kp_driving'])

    def discriminator_forward(self, outputs, inputs) -> LossDict:
        return self.loss.discriminator_loss(outputs['prediction'], inputs['driving'],
                                            outputs['kp_driving'])


@MODELS.register_module()
class AVDReconstructionTerm(nn.Module):
    """TPSMM's second training stage: the AVD network learns to restore the
    driving keypoints from the source keypoints and randomly rescaled
    driving keypoints (each axis scaled by U(1 - s, 1 + s)),
    ``weight * mean |kp_driving - AVD(kp_source, scaled kp_driving)|``.

    The keypoint detector runs without gradient and in eval mode (the
    published code ran it in training mode, which let its BatchNorm
    statistics drift during this stage). Needs no forward pass of the
    animation networks.

    Args:
        weight: the loss weight (published ``lambda_shift`` = 1).
        random_scale: s (published 0.25).
        loss_name: key of the returned dict.
    """

    needs_outputs = False

    def __init__(self, weight: float = 1., random_scale: float = 0.25,
                 loss_name: str = 'loss_avd'):
        super().__init__()
        self.weight = float(weight)
        self.random_scale = float(random_scale)
        self.loss_name = loss_name

    def forward(self, outputs, inputs, animator) -> LossDict:
        if animator.avd is None:
            raise ValueError('AVD training needs model.avd (an AVDNetwork config)')
        detector = animator.keypoint_detector
        was_training = detector.training
        detector.eval()
        try:
            with torch.no_grad():
                kp_source = animator.detect_keypoints(inputs['source'])
                kp_driving = animator.detect_keypoints(inputs['driving'])
        finally:
            detector.train(was_training)
        value = kp_driving['value']
        scale = 1 + self.random_scale * (2 * torch.rand(value.shape[0], 1, 2, device=value.device,
                                                        dtype=value.dtype) - 1)
        restored = animator.avd(kp_source, {'value': value * scale})['value']
        return {self.loss_name: self.weight * (value - restored).abs().mean()}
