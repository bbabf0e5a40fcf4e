"""The image animation model: keypoints, motion, dense motion, generator."""
from __future__ import annotations

import math
from contextlib import contextmanager, nullcontext
from typing import (Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple,
                    Union)

from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch import Tensor, nn

from cpabmm.registry import MODELS
from .keypoints import relative_keypoints
from .layers import MIXED_PRECISION, autocast_context, in_float32
from .motion.base import BaseMotion, Keypoints

ConfigType = Union[dict, nn.Module]
#: what ``predict`` can return besides the prediction ('frames': the input
#: ``source`` and ``driving`` images)
PREDICT_OUTPUTS = ('keypoints', 'flow', 'occlusion', 'contribution_maps', 'deformed',
                   'bg_affine', 'sparse_motions', 'frames')
#: what ``val_step``/``test_step`` always return: the fields the metrics read
#: (docs/evaluation.md)
EVAL_OUTPUTS = ('frames', 'flow')
#: what ``train_step`` keeps of a batch when visuals are requested
VISUAL_OUTPUTS = ('prediction', 'kp_source', 'kp_driving', 'occlusion')
#: called with the named loss terms before the optimiser step: True to step,
#: False to skip the step (it may also raise to stop training)
LossGuard = Callable[[Dict[str, Tensor]], bool]


def _build(cfg: Optional[ConfigType], **defaults) -> Optional[nn.Module]:
    """Build a module from a config dict (filling in ``defaults`` the config
    leaves out), or pass a module through."""
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    cfg = dict(cfg)
    for key, value in defaults.items():
        cfg.setdefault(key, value)
    return MODELS.build(cfg)


@MODELS.register_module()
class ImageAnimator(BaseModel):
    """Animate a source image by the motion of a driving frame.

    One class serves FOMM, TPSMM and CPABMM: they differ in the configured
    keypoint detector, motion model (``motion``), dense motion layout and
    generator. Swapping ``motion`` (e.g. ``model.motion.type=TPSMotion``) is
    enough within the TPSMM/CPABMM family: the dense motion network sizes
    itself from the motion model.

    Args:
        keypoint_detector: config of the detector (``num_keypoints`` must
            equal the motion model's).
        motion: config of the motion model (:class:`BaseMotion`).
        dense_motion: config of :class:`DenseMotionNetwork`;
            ``num_transforms``, ``num_keypoints`` and ``in_channels`` are
            filled in.
        generator: config of the generator (``in_channels`` filled in).
        background: optional config of the background affine predictor.
        avd: optional config of the AVD network (used by the demo).
        num_channels: image channels.
        image_size: ``(H, W)`` the model expects; None accepts any size the
            networks can process.
        bg_start: first training epoch that uses the background predictor
            (evaluation always uses it when there is one).
        transform_dropout: the transformation-dropout schedule, ``dict(
            epochs, start_p, max_p, ramp_epochs)``: during the first
            ``epochs`` training epochs, p = min(start_p + max_p * epoch /
            ramp_epochs, max_p); None disables it.
        losses: named loss configs for ``mode='loss'`` and training; each
            loss module is called as ``loss(outputs, inputs, animator)``
            with the dict of :meth:`compute_outputs` and returns a tensor or
            a dict of them: the terms of :mod:`cpabmm.models.losses.terms`
            adapt the registered losses to this call. A term with
            ``needs_outputs = False`` (AVD training) runs without the
            forward pass.
        predict_outputs: what ``predict`` returns besides the prediction by
            default (see ``PREDICT_OUTPUTS``).
        data_preprocessor: defaults to :class:`AnimationDataPreprocessor`.
        mixed_precision: ``'bfloat16'``: training forward passes under
            bfloat16 autocast (``tools/train.py --amp``), with the motion fits
            and warps and the loss terms in float32
            (:mod:`cpabmm.models.layers.precision`); None: float32.
    """

    def __init__(self, keypoint_detector: ConfigType, motion: ConfigType,
                 dense_motion: ConfigType, generator: ConfigType,
                 background: Optional[ConfigType] = None, avd: Optional[ConfigType] = None,
                 num_channels: int = 3, image_size: Optional[Sequence[int]] = None,
                 bg_start: int = 0, transform_dropout: Optional[dict] = None,
                 losses: Optional[Dict[str, ConfigType]] = None,
                 predict_outputs: Sequence[str] = (),
                 data_preprocessor: Optional[ConfigType] = None,
                 mixed_precision: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='AnimationDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.num_channels = num_channels
        self.image_size = tuple(image_size) if image_size is not None else None
        self.motion: BaseMotion = _build(motion)
        self.keypoint_detector = _build(keypoint_detector, in_channels=num_channels)
        if self.keypoint_detector.num_keypoints != self.motion.num_keypoints:
            raise ValueError(
                f'the keypoint detector gives {self.keypoint_detector.num_keypoints} keypoints '
                f'but {type(self.motion).__name__} needs {self.motion.num_keypoints}')
        self.dense_motion = _build(dense_motion, num_transforms=self.motion.num_transforms,
                                   num_keypoints=self.motion.num_keypoints,
                                   in_channels=num_channels)
        self.generator = _build(generator, in_channels=num_channels)
        self.generator.check_num_masks(self.dense_motion.num_occlusion_masks)
        self.background = _build(background, in_channels=num_channels)
        self.avd = _build(avd, num_keypoints=self.motion.num_keypoints)
        self.bg_start = bg_start
        if mixed_precision not in MIXED_PRECISION:
            raise ValueError(f'mixed_precision must be one of {MIXED_PRECISION}, '
                             f'got {mixed_precision!r}')
        self.mixed_precision = mixed_precision
        self.transform_dropout = transform_dropout
        self.losses = nn.ModuleDict({name: _build(cfg) for name, cfg in (losses or {}).items()})
        unknown = sorted(set(predict_outputs) - set(PREDICT_OUTPUTS))
        if unknown:
            raise ValueError(f'unknown predict_outputs {unknown}; choose from {PREDICT_OUTPUTS}')
        self.predict_outputs = tuple(predict_outputs)
        self.epoch = 0
        #: set by NonFiniteLossHook: checks the loss terms before each step
        self.loss_guard: Optional[LossGuard] = None
        #: samples whose outputs the next train_step keeps in ``visuals``
        self.capture_visuals = 0
        self.visuals: Optional[Dict[str, Any]] = None

    # ------------------------------------------------------------------ schedule
    def set_epoch(self, epoch: int) -> None:
        """Tell the model the training epoch (background start, dropout)."""
        self.epoch = int(epoch)

    def dropout_p(self) -> Optional[float]:
        """The transformation-dropout probability now, None when off."""
        schedule = self.transform_dropout
        if not self.training or schedule is None or self.epoch >= schedule['epochs']:
            return None
        ramp = self.epoch / schedule['ramp_epochs'] * schedule['max_p']
        return min(ramp + schedule['start_p'], schedule['max_p'])

    def uses_background(self) -> bool:
        return self.background is not None and (not self.training or self.epoch >= self.bg_start)

    def training_only_modules(self) -> Tuple[str, ...]:
        """The submodules only training uses (``named_modules`` names): each
        loss, with its discriminator. Inference loads checkpoints without
        their weights (:func:`cpabmm.checkpoint.load_model_weights`)."""
        return tuple(f'losses.{name}' for name in self.losses)

    # ------------------------------------------------------------------ stages
    @property
    def size_multiple(self) -> int:
        """Image sides must be multiples of this for the networks' skips."""
        multiples = [getattr(m, 'size_multiple', 1)
                     for m in (self.keypoint_detector, self.dense_motion, self.generator)]
        return math.lcm(*multiples)

    def check_images(self, **images: Tensor) -> None:
        """Raise a one-line ValueError unless every image is a float
        ``[B, num_channels, H, W]`` tensor of the expected size, all alike."""
        shapes = {}
        for name, image in images.items():
            if not isinstance(image, Tensor) or image.dim() != 4:
                got = list(image.shape) if isinstance(image, Tensor) else type(image).__name__
                raise ValueError(f'{name} must be a [B, C, H, W] tensor, got {got}')
            b, c, h, w = image.shape
            if c != self.num_channels:
                raise ValueError(f'{name} has {c} channels, this model takes '
                                 f'{self.num_channels} (convert the images, e.g. to RGB)')
            if self.image_size is not None and (h, w) != self.image_size:
                raise ValueError(f'{name} is {h}x{w}, this model takes '
                                 f'{self.image_size[0]}x{self.image_size[1]}: resize it')
            multiple = self.size_multiple
            if h % multiple or w % multiple:
                raise ValueError(f'{name} is {h}x{w}; its sides must be multiples of {multiple}')
            shapes[name] = tuple(image.shape)
        if len(set(shapes.values())) > 1:
            raise ValueError(f'images of different shapes: {shapes}')

    def detect_keypoints(self, image: Tensor) -> Keypoints:
        return self.keypoint_detector(image)

    def animate(self, source: Tensor, kp_source: Keypoints, kp_driving: Keypoints,
                bg_affine: Optional[Tensor] = None, dropout_p: Optional[float] = None,
                return_warped_features: bool = False) -> Dict[str, Any]:
        """Generate from given keypoints (the demo's entry point).

        Returns the dense motion network's outputs (``sparse_motions``,
        ``deformed_source``, ``contribution_maps``, ``flow``, ``occlusion``),
        the generator's (``prediction``, ``deformed``, optionally
        ``warped_encoder_maps``) and the ``motion_params``.
        """
        params = in_float32(self.motion.fit, kp_source, kp_driving)
        out = self.dense_motion(source, kp_source, kp_driving, self.motion, params,
                                bg_affine=bg_affine, dropout_p=dropout_p)
        out.update(self.generator(source, out['flow'], out['occlusion'],
                                  return_warped_features=return_warped_features))
        out['motion_params'] = params
        return out

    def compute_outputs(self, source: Tensor, driving: Tensor) -> Dict[str, Any]:
        """The full forward pass, with everything the losses need.

        Returns:
            dict with ``kp_source``, ``kp_driving``, ``bg_affine`` (None when
            the background is off), the outputs of :meth:`animate` and, in
            training, ``warped_encoder_maps`` and the ``dropout_p`` used.
        """
        self.check_images(source=source, driving=driving)
        kp_source = self.detect_keypoints(source)
        kp_driving = self.detect_keypoints(driving)
        bg_affine = self.background(source, driving) if self.uses_background() else None
        dropout_p = self.dropout_p()
        out = self.animate(source, kp_source, kp_driving, bg_affine, dropout_p,
                           return_warped_features=self.training)
        out.update(kp_source=kp_source, kp_driving=kp_driving, bg_affine=bg_affine,
                   dropout_p=dropout_p)
        return out

    def compute_relative_outputs(self, source: Tensor, driving: Tensor,
                                 driving_initial: Tensor) -> Dict[str, Any]:
        """Cross-identity animation: the source moved by the driving frame's
        motion relative to the initial driving frame (relative keypoints, see
        :func:`relative_keypoints`), without the background transform, as the
        FOMM and TPSMM demos animate. Returns what :meth:`compute_outputs`
        does, with the relative keypoints as ``kp_driving``."""
        self.check_images(source=source, driving=driving, driving_initial=driving_initial)
        kp_source = self.detect_keypoints(source)
        kp_driving = relative_keypoints(kp_source, self.detect_keypoints(driving),
                                        self.detect_keypoints(driving_initial))
        out = self.animate(source, kp_source, kp_driving)
        out.update(kp_source=kp_source, kp_driving=kp_driving, bg_affine=None, dropout_p=None)
        return out

    # ------------------------------------------------------------------ modes
    def forward(self, inputs: Dict[str, Tensor], data_samples: Optional[List[dict]] = None,
                mode: str = 'tensor', outputs: Optional[Sequence[str]] = None,
                generated: Optional[Dict[str, Any]] = None):
        """``mode='tensor'``: the dict of :meth:`compute_outputs`;
        ``'predict'``: a list of per-sample dicts (see :meth:`predict`);
        ``'loss'``: a dict of named loss tensors (see ``losses``);
        ``'train'``: ``(outputs, loss terms)``, and ``'discriminator'``: the
        discriminator terms for the ``generated`` outputs (the two passes of
        :meth:`train_step`, run through ``forward`` so that a distributed
        wrapper sees them)."""
        if not isinstance(inputs, dict) or 'source' not in inputs or 'driving' not in inputs:
            raise ValueError("inputs must be a dict with 'source' and 'driving' images")
        if mode == 'tensor':
            return self.compute_outputs(inputs['source'], inputs['driving'])
        if mode == 'predict':
            return self.predict(inputs, data_samples, outputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'train':
            return self.outputs_and_losses(inputs)
        if mode == 'discriminator':
            return self.discriminator_losses(generated, inputs)
        raise ValueError(f"mode must be 'tensor', 'predict', 'loss', 'train' or 'discriminator', "
                         f'got {mode!r}')

    def predict(self, inputs: Dict[str, Tensor], data_samples: Optional[List[dict]] = None,
                outputs: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
        """Per-sample results: ``prediction`` [C, H, W] and the requested
        ``outputs`` (default ``predict_outputs``): ``kp_source``/``kp_driving``
        (for 'keypoints'), ``flow`` [h, w, 2], ``occlusion`` (list of
        [1, h_i, w_i]), ``contribution_maps`` [N+1, h, w], ``deformed``,
        ``bg_affine``, ``sparse_motions``, ``source`` and ``driving`` (for
        'frames'); and the sample's ``metainfo``.

        Inputs with a ``driving_initial`` image ask for relative motion (the
        cross-identity protocol, see :meth:`compute_relative_outputs`)."""
        wanted = self.predict_outputs if outputs is None else tuple(outputs)
        unknown = sorted(set(wanted) - set(PREDICT_OUTPUTS))
        if unknown:
            raise ValueError(f'unknown outputs {unknown}; choose from {PREDICT_OUTPUTS}')
        if 'driving_initial' in inputs:
            out = self.compute_relative_outputs(inputs['source'], inputs['driving'],
                                                inputs['driving_initial'])
        else:
            out = self.compute_outputs(inputs['source'], inputs['driving'])
        out.update(source=inputs['source'], driving=inputs['driving'])
        batch = inputs['source'].shape[0]
        results = []
        for i in range(batch):
            result = {'prediction': out['prediction'][i]}
            for name in wanted:
                result.update(self._sample_output(out, name, i))
            result['metainfo'] = data_samples[i] if data_samples else {}
            results.append(result)
        return results

    @staticmethod
    def _sample_output(out: Dict[str, Any], name: str, i: int) -> Dict[str, Any]:
        if name == 'keypoints':
            return {which: {k: v[i] for k, v in out[which].items()}
                    for which in ('kp_source', 'kp_driving')}
        if name == 'occlusion':
            return {name: [mask[i] for mask in out[name]]}
        if name == 'frames':
            return {which: out[which][i] for which in ('source', 'driving')}
        value = out[name]
        return {name: None if value is None else value[i]}

    def val_step(self, data: Union[dict, tuple, list]) -> List[Dict[str, Any]]:
        """Predictions with the fields the metrics read (``EVAL_OUTPUTS``)."""
        return self.test_step(data)

    def test_step(self, data: Union[dict, tuple, list]) -> List[Dict[str, Any]]:
        """Predictions with the fields the metrics read (``EVAL_OUTPUTS``)
        besides ``predict_outputs``."""
        data = self.data_preprocessor(data, False)
        outputs = tuple(dict.fromkeys(self.predict_outputs + EVAL_OUTPUTS))
        return self.predict(data['inputs'], data['data_samples'], outputs)

    def loss(self, inputs: Dict[str, Tensor],
             data_samples: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """Every configured loss term by name (MMEngine's ``parse_losses``
        sums the ones whose names contain 'loss')."""
        return self.outputs_and_losses(inputs)[1]

    def outputs_and_losses(self, inputs: Dict[str, Tensor]
                           ) -> Tuple[Dict[str, Any], Dict[str, Tensor]]:
        """The forward pass (skipped when no loss needs it) and the loss terms."""
        if not self.losses:
            raise ValueError('this model has no losses configured; add model.losses '
                             '(training configs do) to use mode="loss"')
        out: Dict[str, Any] = {}
        if any(getattr(loss, 'needs_outputs', True) for loss in self.losses.values()):
            out = self.compute_outputs(inputs['source'], inputs['driving'])
        terms: Dict[str, Tensor] = {}
        for name, loss in self.losses.items():
            value = in_float32(loss, out, inputs, self)   # no bfloat16 loss terms
            if isinstance(value, dict):
                terms.update(value)
            else:
                terms[name] = value
        return out, terms

    def discriminator_losses(self, generated: Dict[str, Any],
                             inputs: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """The terms of every loss with a discriminator (``discriminator_forward``)."""
        terms: Dict[str, Tensor] = {}
        for loss in self.losses.values():
            if hasattr(loss, 'discriminator_forward'):
                terms.update(loss.discriminator_forward(generated, inputs))
        return terms

    # ------------------------------------------------------------------ training
    def train_step(self, data: Union[dict, list], optim_wrapper: OptimWrapper,
                   forward: Optional[Callable] = None) -> Dict[str, Tensor]:
        """One training iteration, as published.

        The loss terms are summed and back-propagated once; then every
        optimiser wrapper whose parameters received gradients steps (with an
        :class:`~mmengine.optim.OptimWrapperDict`: the background
        predictor's only once it is used, from ``bg_start``; a single
        :class:`~mmengine.optim.OptimWrapper` steps everything). Losses with a
        discriminator (FOMM's adversarial term) then get a second pass for it.
        Before each backward pass ``loss_guard`` (if set) sees the terms and
        may skip the step or stop training.

        Args:
            data: a batch from the dataloader.
            optim_wrapper: one wrapper, or one per group of modules.
            forward: what runs the model; a distributed wrapper passes itself
                so that gradients are synchronised (default: this model).

        Returns:
            the logged values (every term, and ``loss``, their sum).
        """
        forward = forward or self
        with self._forward_context(optim_wrapper):
            data = self.data_preprocessor(data, True)
            inputs = data['inputs']
            generated, terms = forward(inputs, data['data_samples'], mode='train')
        log_vars = self._update(terms, optim_wrapper)
        if any(hasattr(loss, 'discriminator_forward') for loss in self.losses.values()):
            with self._forward_context(optim_wrapper):
                disc_terms = forward(inputs, mode='discriminator', generated=generated)
            disc_log_vars = self._update(disc_terms, optim_wrapper)
            disc_log_vars.pop('loss')
            log_vars.update(disc_log_vars)
        self._keep_visuals(inputs, generated)
        return log_vars

    @contextmanager
    def _forward_context(self, optim_wrapper: OptimWrapper) -> Iterator[None]:
        """A single wrapper's context (e.g. MMEngine's AMP) and, with
        ``mixed_precision``, bfloat16 autocast on the model's device."""
        single = not isinstance(optim_wrapper, OptimWrapperDict)
        device = next(self.parameters()).device
        with (optim_wrapper.optim_context(self) if single else nullcontext()), \
                autocast_context(self.mixed_precision, device):
            yield

    def _update(self, terms: Dict[str, Tensor], optim_wrapper: OptimWrapper
                ) -> Dict[str, Tensor]:
        """Back-propagate the sum of ``terms`` and step the optimisers."""
        loss, log_vars = self.parse_losses(terms)
        if self.loss_guard is not None and not self.loss_guard(terms):
            return log_vars
        if not isinstance(optim_wrapper, OptimWrapperDict):
            optim_wrapper.update_params(loss)
            return log_vars
        loss.backward()
        for wrapper in optim_wrapper.values():
            if any(p.grad is not None for group in wrapper.optimizer.param_groups
                   for p in group['params']):
                wrapper.step()
            wrapper.zero_grad()
        return log_vars

    def _keep_visuals(self, inputs: Dict[str, Tensor], generated: Dict[str, Any]) -> None:
        """Keep the first ``capture_visuals`` samples' images and outputs (for
        the visualisation hook), detached and on the CPU."""
        count, self.capture_visuals = self.capture_visuals, 0
        if not count or 'prediction' not in generated:
            return

        def first(value):
            if isinstance(value, Tensor):
                return value[:count].detach().cpu()
            if isinstance(value, dict):
                return {key: first(item) for key, item in value.items()}
            return [first(item) for item in value]

        kept = {name: first(generated[name]) for name in VISUAL_OUTPUTS}
        kept.update(source=first(inputs['source']), driving=first(inputs['driving']))
        self.visuals = kept

    def extra_repr(self) -> str:
        return f'motion={type(self.motion).__name__}, image_size={self.image_size}'
