"""Building a model from a config and loading its checkpoint."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from cpabmm.checkpoint import load_model_weights
from cpabmm.engine.config import apply_overrides, load_config
from cpabmm.models.compile import check_compile_available, compile_model
from cpabmm.registry import MODELS
from cpabmm.utils import setup_runtime


def init_model(config: Union[str, Path, Config], checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[dict] = None, compile: bool = False) -> torch.nn.Module:
    """Build the model of ``config`` in eval mode, with the weights of
    ``checkpoint`` (an MMEngine checkpoint, read with ``weights_only=True``
    and loaded strictly for inference: the parts only training uses, such as
    a discriminator, may be absent; :func:`cpabmm.checkpoint.load_model_weights`).

    Args:
        config: config file path or :class:`Config`.
        checkpoint: path of a checkpoint; None keeps the initial weights.
        device: where to put the model.
        cfg_options: overrides merged into the config, e.g.
            ``{'model.motion.type': 'TPSMotion'}``; each key must exist
            (:func:`cpabmm.engine.config.check_override_keys`).
        compile: compile the networks with ``torch.compile`` (the mode of
            the device; the motion model's fit stays eager), see
            :func:`cpabmm.models.compile.compile_model`; each network compiles
            on its first call.

    Raises:
        ValueError: an unknown override key, a checkpoint that is no MMEngine
            checkpoint (e.g. an unconverted official file), or weights that
            do not fit the model (one message naming the keys);
            :class:`cpabmm.checkpoint.CheckpointError` (a ValueError) for a
            file that is no complete PyTorch checkpoint.
        cpabmm.models.compile.CompileUnavailableError: ``compile`` where
            ``torch.compile`` cannot run on ``device`` (checked before the
            model is built).
    """
    setup_runtime()
    if compile:
        check_compile_available(device)
    if isinstance(config, Config):
        cfg = config
        apply_overrides(cfg, cfg_options)
    else:
        cfg = load_config(str(config), cfg_options)
    init_default_scope(cfg.get('default_scope', 'cpabmm'))
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_model_weights(model, str(checkpoint))
    model.cfg = cfg
    model = model.to(device).eval()
    if compile:
        compile_model(model, device)
    return model


def choose_device(requested: Optional[str] = None) -> str:
    """``requested`` (``'cpu'``, ``'cuda'``, ``'cuda:1'``...), checked, or
    ``'cuda'`` when available and ``'cpu'`` otherwise.

    Raises:
        ValueError: a CUDA device where there is none
            (``--device cuda: no CUDA device here; use --device cpu``).
    """
    if requested is None:
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    if requested.startswith('cuda') and not torch.cuda.is_available():
        raise ValueError(f'--device {requested}: no CUDA device here; use --device cpu')
    return requested
