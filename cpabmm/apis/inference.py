"""Building a model from a config and loading its checkpoint."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from cpabmm.engine.checkpoint import load_checkpoint_file
from cpabmm.models.state_dict import load_state_dict_checked
from cpabmm.registry import MODELS

OFFICIAL_ENTRIES = ('kp_detector', 'generator', 'inpainting_network', 'dense_motion_network')


def init_model(config: Union[str, Path, Config], checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """Build the model of ``config`` in eval mode, with the weights of
    ``checkpoint`` (an MMEngine-format file, read with ``weights_only=True``).

    Args:
        config: config file path or :class:`Config`.
        checkpoint: path of a checkpoint; None keeps the initial weights.
        device: where to put the model.
        cfg_options: overrides merged into the config, e.g.
            ``{'model.motion.type': 'TPSMotion'}``.

    Raises:
        ValueError: the checkpoint is an official (unconverted) file, or its
            weights do not fit the model (one message naming the keys).
    """
    cfg = config if isinstance(config, Config) else Config.fromfile(str(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'cpabmm'))
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        loaded = load_checkpoint_file(str(checkpoint), map_location='cpu')
        if isinstance(loaded, dict) and any(k in loaded for k in OFFICIAL_ENTRIES):
            raise ValueError(f'{checkpoint} is an official FOMM/TPSMM checkpoint; convert it '
                             'first: python tools/convert_checkpoint.py SRC DST --model '
                             '{fomm,tpsmm}')
        state_dict = loaded.get('state_dict', loaded) if isinstance(loaded, dict) else loaded
        load_state_dict_checked(model, state_dict, source=str(checkpoint))
    model.cfg = cfg
    return model.to(device).eval()
