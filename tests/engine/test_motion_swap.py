"""``model.motion.type=...`` on every config: the swaps that fit build, run
and train; the others are refused in one line.

Each (config, motion model) pair is loaded through :func:`load_config`, as
the tools and ``init_model`` do, and its model is run at 64 px with batch 2
(BatchNorm's least in training): one ``predict`` and one training step.
Published 256/384-px architectures are made to run at 64 px with fewer
hourglass levels (``num_blocks``) and narrower layers, the losses that need pretrained weights (VGG-19, SAM, DINO)
give way to the weight-free L1 + SSIM pyramid, as in the synthetic configs,
and the schedule entries are set alike (background from the first step,
dropout on). Pairs whose model config is then the same are run once.
"""
import glob
import inspect
import json
import logging
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from cpabmm.benchmarks.training import build_for_training
from cpabmm.engine import ConfigError, load_config
from cpabmm.engine import motion_swap
from cpabmm.engine.motion_swap import swap_motion
from cpabmm.registry import MODELS

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_ROOT = osp.join(REPO_ROOT, 'configs')
CONFIGS = sorted(
    path for path in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
    if f'{osp.sep}_base_{osp.sep}' not in path)
MOTIONS = ('AffineMotion', 'TPSMotion', 'CPABMotion')
#: the motion models each family's configs take
FITS = {'fomm': {'AffineMotion'}, 'tpsmm': {'TPSMotion', 'CPABMotion'},
        'cpabmm': {'TPSMotion', 'CPABMotion'}}
SIZE = 64
BATCH = 2
#: losses holding a network with pretrained weights, which tests do not have
PRETRAINED_LOSSES = {'PerceptualPyramidLoss', 'StructureAlignmentLoss', 'KeypointSemanticLoss'}
WEIGHT_FREE_IMAGE_LOSS = dict(type='ImageLossTerm', loss=dict(type='ReconstructionPyramidLoss'))
#: model config (:func:`_canonical`, as JSON) -> the pair that ran it
RUN = {}


def _family(path):
    return osp.basename(osp.dirname(path))


PAIRS = [(path, motion) for path in CONFIGS for motion in MOTIONS
         if motion in FITS[_family(path)]]
REFUSED = [(path, motion) for path in CONFIGS for motion in MOTIONS
           if motion not in FITS[_family(path)]]


def _pair_id(pair):
    return f'{osp.relpath(pair[0], CONFIG_ROOT)}-{pair[1]}'


def _loss_type(term):
    loss = term.get('loss')
    if loss is None:
        return getattr(MODELS.get(term['type']), 'default_loss', {}).get('type')
    return loss.get('type')


def at_64_px(model):
    """The model config, made to run at 64 px without pretrained weights."""
    model.image_size = (SIZE, SIZE)
    # schedules alike: the background predictor (if any) and dropout from the first step
    model.bg_start = 0
    if model.get('transform_dropout'):
        model.transform_dropout = dict(epochs=1, start_p=0.2, max_p=0.2, ramp_epochs=1)
    for part in ('keypoint_detector', 'dense_motion', 'generator'):
        cfg = model[part]
        params = inspect.signature(MODELS.get(cfg['type'])).parameters
        if 'num_blocks' in params:   # hourglasses: 2^(halvings + blocks) must divide 64
            halvings = round(-math.log2(cfg.get('scale_factor', params['scale_factor'].default)))
            blocks = cfg.get('num_blocks', params['num_blocks'].default)
            cfg.num_blocks = min(blocks, int(math.log2(SIZE)) - halvings)
        for width, narrow in (('block_expansion', 16), ('max_features', 128)):
            if width in params:
                cfg[width] = min(cfg.get(width, params[width].default), narrow)
    losses = {}
    for name, term in (model.get('losses') or {}).items():
        if _loss_type(term) == 'PerceptualPyramidLoss':
            losses[name] = dict(WEIGHT_FREE_IMAGE_LOSS)
        elif _loss_type(term) not in PRETRAINED_LOSSES:
            losses[name] = term
    model.losses = losses
    return model


def _canonical(node):
    """A config as plain data, without the entries that equal their
    constructor's default (``solver='fast'`` is CPABMotion's default)."""
    if isinstance(node, dict):
        params = {}
        if isinstance(node.get('type'), str) and MODELS.get(node['type']) is not None:
            params = inspect.signature(MODELS.get(node['type'])).parameters
        return {key: _canonical(value) for key, value in node.items()
                if key not in params or params[key].default != value}
    if isinstance(node, (list, tuple)):
        return [_canonical(value) for value in node]
    return node


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """One thread: on a shared 2-core machine, two threads of small
    operations spend most of their time waiting for each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _images(seed):
    generator = torch.Generator().manual_seed(seed)
    return {key: torch.rand(BATCH, 3, SIZE, SIZE, generator=generator)
            for key in ('source', 'driving')}


def run_once(cfg):
    """Build the model of ``cfg``, run ``predict`` and one training step."""
    model, optim_wrapper = build_for_training(cfg, torch.device('cpu'))
    model.eval()
    with torch.no_grad():
        result = model.predict(_images(0))[0]
    assert result['prediction'].shape == (3, SIZE, SIZE)
    assert torch.isfinite(result['prediction']).all()
    model.train()
    before = _checksum(model)
    log_vars = model.train_step(_images(1), optim_wrapper)
    assert log_vars and all(torch.isfinite(torch.as_tensor(v)).all() for v in log_vars.values())
    assert _checksum(model) != before   # an optimiser stepped
    return model


def _checksum(model):
    with torch.no_grad():
        return sum(float(p.double().sum()) for p in model.parameters())


@pytest.mark.parametrize('pair', PAIRS, ids=_pair_id)
def test_swapped_motion_builds_runs_and_trains(pair):
    path, motion = pair
    cfg = load_config(path, {'model.motion.type': motion})
    assert cfg.model.motion.type == motion
    at_64_px(cfg.model)
    key = json.dumps(_canonical(cfg.model.to_dict()), sort_keys=True, default=repr)
    if key in RUN:   # same model as a pair already run
        return
    model = run_once(cfg)
    assert type(model.motion).__name__ == motion
    assert model.dense_motion.num_transforms == model.motion.num_transforms
    assert model.keypoint_detector.num_keypoints == model.motion.num_keypoints
    RUN[key] = pair


@pytest.mark.parametrize('pair', REFUSED, ids=_pair_id)
def test_swap_across_keypoint_arrangements_is_refused(pair):
    path, motion = pair
    with pytest.raises(ConfigError) as info:
        load_config(path, {'model.motion.type': motion})
    message = str(info.value)
    assert '\n' not in message
    assert message.startswith(f'model.motion.type={motion} cannot replace ')
    if motion == 'AffineMotion':
        assert 'keypoints without Jacobians, which ' in message
        assert 'groups of 5; AffineMotion makes one transformation per keypoint' in message
        assert message.endswith('(configs/fomm)')
    else:
        assert ('HeatmapKeypointDetector gives 10 keypoints with Jacobians, one per '
                'AffineMotion transformation') in message
        assert "input_layout='interleaved'" in message
        assert f'{motion} makes one transformation per group of 5 keypoints' in message
        assert message.endswith('(configs/tpsmm or configs/cpabmm)')


def test_swap_keeps_shared_keys_and_logs_the_dropped_ones(monkeypatch):
    logged = []
    monkeypatch.setattr(motion_swap, 'print_log',
                        lambda message, logger=None, level=logging.INFO: logged.append(
                            (message, level)))
    path = osp.join(CONFIG_ROOT, 'cpabmm', 'cpabmm_k10-lite_1xb8-20e_synthetic-64.py')
    cfg = load_config(path, {'model.motion.type': 'TPSMotion', 'model.motion.num_groups': 4})
    assert cfg.model.motion.to_dict() == dict(type='TPSMotion', num_groups=4,
                                              points_per_group=5)
    assert logged == [("model.motion.type=TPSMotion: dropped the CPABMotion settings that "
                       "TPSMotion does not take: solver='fast'", logging.INFO)]


def test_swap_to_cpab_takes_its_own_keys():
    path = osp.join(CONFIG_ROOT, 'tpsmm', 'tpsmm_k10-lite_1xb8-20e_synthetic-64.py')
    cfg = load_config(path, {'model.motion.type': 'CPABMotion', 'model.motion.solver': 'adam'})
    assert cfg.model.motion.to_dict() == dict(type='CPABMotion', num_groups=10,
                                              points_per_group=5, solver='adam')


@pytest.mark.parametrize('options, message', [
    ({'model.motion.type': 'TPSMotion', 'model.motion.solver': 'adam'},
     "unknown config key 'model.motion.solver': TPSMotion takes no argument 'solver'"),
    ({'model.motion.type': 'TPSMotion', 'model.motion.num_grops': 4},
     "TPSMotion takes no argument 'num_grops' (did you mean 'num_groups'?)"),
    ({'model.motion.type': 'TPSMotoin'},
     "unknown type 'TPSMotoin' at model.motion.type (did you mean 'TPSMotion'?)"),
])
def test_a_key_set_with_the_swap_is_never_dropped(options, message):
    """A key the new type does not take is refused, not dropped."""
    path = osp.join(CONFIG_ROOT, 'cpabmm', 'cpabmm_k10-lite_1xb8-20e_synthetic-64.py')
    with pytest.raises(ConfigError) as info:
        load_config(path, options)
    assert message in str(info.value) and '\n' not in str(info.value)


def test_init_model_swaps_the_same_way():
    from cpabmm.apis import init_model
    path = osp.join(CONFIG_ROOT, 'cpabmm', 'cpabmm_k10-lite_1xb8-20e_synthetic-64.py')
    model = init_model(path, cfg_options={'model.motion.type': 'TPSMotion'})
    assert type(model.motion).__name__ == 'TPSMotion'
    model = init_model(Config.fromfile(path), cfg_options={'model.motion.type': 'TPSMotion'})
    assert type(model.motion).__name__ == 'TPSMotion'
    with pytest.raises(ConfigError, match='cannot replace CPABMotion'):
        init_model(path, cfg_options={'model.motion.type': 'AffineMotion'})


def test_swap_without_a_motion_change_does_nothing():
    path = osp.join(CONFIG_ROOT, 'fomm', 'fomm_k10-small_1xb8-20e_synthetic-64.py')
    cfg = Config.fromfile(path)
    before = cfg.model.motion.to_dict()
    swap_motion(cfg, {'model.motion.type': 'AffineMotion'})
    swap_motion(cfg, {'model.image_size': (64, 64)})
    assert cfg.model.motion.to_dict() == before


def test_the_pairs_share_architectures():
    """Runs after the pairs (file order): how many distinct models ran."""
    if not RUN:
        pytest.skip('run with the pair tests')
    assert len(RUN) < len(PAIRS)
