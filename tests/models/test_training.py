"""Training: the loss wiring of every config family, where gradients go, the
published optimiser steps, short synthetic runs, the NaN guard and
reproducibility (tiny-width 32x32 models built from the training configs)."""
import copy
import glob
import os.path as osp

import cv2
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from cpabmm.checkpoint import read_checkpoint
from cpabmm.engine import NonFiniteLossError
from cpabmm.registry import HOOKS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from cpabmm.utils.run_state import fresh_run_state

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs')
TPSMM = 'tpsmm/tpsmm_k10-small_1xb8-20e_synthetic-64.py'
TPSMM_LITE = 'tpsmm/tpsmm_k10-lite_1xb8-20e_synthetic-64.py'
CPABMM_LITE = 'cpabmm/cpabmm_k10-lite_1xb8-20e_synthetic-64.py'
FOMM = 'fomm/fomm_k10-small_1xb8-20e_synthetic-64.py'

NARROW = dict(block_expansion=8, max_features=32)
#: 32x32 images, 2 groups of 5 keypoints (TPS/CPAB) or 5 keypoints (FOMM), 8-32 channels
TINY = {
    'tps': {'model.image_size': (32, 32), 'model.motion.num_groups': 2,
            'model.keypoint_detector.num_keypoints': 10,
            'model.dense_motion': NARROW, 'model.generator': NARROW},
    'fomm': {'model.image_size': (32, 32), 'model.motion.num_keypoints': 5,
             'model.keypoint_detector': dict(num_keypoints=5, **NARROW),
             'model.dense_motion': NARROW,
             'model.generator': dict(num_bottleneck_blocks=1, **NARROW)},
}
TINY_LITE_DETECTOR = {f'model.keypoint_detector.{key}': value for key, value in NARROW.items()}
#: a few tiny videos, read in the main process; no evaluation
TINY_RUN = {
    'train_dataloader.batch_size': 2, 'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
    'train_dataloader.dataset.size': 32, 'train_dataloader.dataset.num_videos': 4,
    'test_dataloader': None, 'test_cfg': None, 'test_evaluator': None,
    'default_hooks.logger.interval': 1,
    'default_hooks.checkpoint.interval': 1000,
}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread (and a shared machine stays usable)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_config(path, **overrides) -> Config:
    """A training config shrunk by ``TINY`` (plus ``overrides``)."""
    cfg = Config.fromfile(osp.join(CONFIGS, path))
    family = 'fomm' if path.startswith('fomm') else 'tps'
    options = dict(TINY[family])
    if 'lite' in path:
        options.update(TINY_LITE_DETECTOR)
    options.update(overrides)
    cfg.merge_from_dict(options)
    return cfg


def published_training(path, losses_from, **overrides) -> Config:
    """The tiny synthetic model of ``path`` with the losses and optimisers of
    the (full-size) config ``losses_from``; its frozen networks replaced by
    small random-weight ones."""
    published = Config.fromfile(osp.join(CONFIGS, losses_from))
    losses = published.model.losses.to_dict()
    losses.update({name: term for name, term in PUBLISHED_FROZEN.items() if name in losses})
    cfg = tiny_config(path, **overrides)
    cfg.model.losses = losses
    cfg.optim_wrapper = published.optim_wrapper
    return cfg


def build(cfg: Config):
    init_default_scope('cpabmm')
    torch.manual_seed(0)
    return MODELS.build(cfg.model).train()


def images(batch=2, size=32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return {'source': torch.rand(batch, 3, size, size, generator=generator),
            'driving': torch.rand(batch, 3, size, size, generator=generator)}


def optimisers(model, cfg):
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type=cfg.optim_wrapper.constructor,
        optim_wrapper_cfg={k: v for k, v in cfg.optim_wrapper.items() if k != 'constructor'}))
    return constructor(model)


def snapshot(module):
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def changed(module, before) -> bool:
    return any(not torch.equal(p, before[name]) for name, p in module.named_parameters())


# ---------------------------------------------------------------- loss wiring
TINY_VGG = dict(type='ImageLossTerm', loss=dict(
    type='PerceptualPyramidLoss', scales=(1, 0.5), backbone=dict(type='VGG19', pretrained=False)))
TINY_DINO = dict(type='ImageLossTerm', loss=dict(
    type='StructureAlignmentLoss', short_side=32,
    backbone=dict(type='DINOViT', pretrained=False, patch_size=8, embed_dim=32, depth=1,
                  num_heads=4, train_size=32)))
TINY_SAM = dict(type='KeypointSemanticTerm', loss=dict(
    type='KeypointSemanticLoss', cache=dict(max_bytes=2 ** 20),
    encoder=dict(type='SAMImageEncoder', pretrained=False,
                 arch=dict(img_size=64, embed_dim=32, depth=2, num_heads=2,
                           global_attn_indexes=(1,), window_size=2, out_chans=16))))
PUBLISHED_FROZEN = {'perceptual': TINY_VGG, 'structure': TINY_DINO, 'keypoint_semantic': TINY_SAM}
TPS_TERMS = {'loss_equivariance_value', 'loss_warp', 'loss_background'}


@pytest.mark.parametrize('path, losses_from, expected', [
    (TPSMM, None, TPS_TERMS | {'loss_reconstruction'}),
    (CPABMM_LITE, None, {'loss_reconstruction', 'loss_equivariance_value', 'loss_warp'}),
    (FOMM, None, {'loss_reconstruction', 'loss_equivariance_value',
                  'loss_equivariance_jacobian'}),
    (TPSMM, 'tpsmm/tpsmm_k10_1xb28-100e_vox-256.py', TPS_TERMS | {'loss_perceptual'}),
    (TPSMM, 'cpabmm/cpabmm_k10_1xb8-100e_vox-256.py',
     TPS_TERMS | {'loss_perceptual', 'loss_structure', 'loss_keypoint_semantic'}),
    (FOMM, 'fomm/fomm_k10-adv_1xb36-100e_mgif-256.py',
     {'loss_perceptual', 'loss_equivariance_value', 'loss_equivariance_jacobian',
      'loss_gen_gan', 'loss_feature_matching'}),
], ids=['tpsmm-synthetic', 'cpabmm-synthetic', 'fomm-synthetic', 'tpsmm-published',
        'cpabmm-published', 'fomm-adv-published'])
def test_every_loss_wiring_gives_finite_named_terms(path, losses_from, expected):
    adversarial = 'adv' in str(losses_from)
    size = 64 if adversarial else 32  # the discriminator's 4x4 valid convolutions
    overrides = {'model.bg_start': 0, 'model.image_size': (size, size)}
    cfg = (published_training(path, losses_from, **overrides) if losses_from
           else tiny_config(path, **overrides))
    model = build(cfg)
    terms = model(images(size=size), mode='loss')
    assert set(terms) == expected
    for name, value in terms.items():
        assert value.dim() == 0 and torch.isfinite(value), name
    if adversarial:
        disc = model(images(size=size), mode='discriminator',
                     generated=model.compute_outputs(**images(size=size)))
        assert set(disc) == {'loss_disc_gan'} and torch.isfinite(disc['loss_disc_gan'])


def test_lazy_frozen_losses_build_at_the_first_step_and_stay_out_of_checkpoints():
    model = build(published_training(TPSMM, 'tpsmm/tpsmm_k10_1xb28-100e_vox-256.py'))
    term = model.losses['perceptual']
    assert term.loss is None
    keys = set(model.state_dict())
    model(images(), mode='loss')
    assert type(term.loss).__name__ == 'PerceptualPyramidLoss'
    assert set(model.state_dict()) == keys
    # entries of the lazy loss in a checkpoint are ignored, not unexpected
    model.load_state_dict({**model.state_dict(), 'losses.perceptual.loss.extra': torch.ones(1)})
    # the published term builds without the VGG file; training asks for it
    published = Config.fromfile(osp.join(CONFIGS, 'tpsmm/tpsmm_k10_1xb28-100e_vox-256.py'))
    perceptual = MODELS.build(published.model.losses.perceptual)
    with pytest.raises(FileNotFoundError, match='VGG-19 weights not found at .*vgg19-dcbb9e9d'):
        perceptual({'prediction': torch.rand(1, 3, 64, 64)}, {'driving': torch.rand(1, 3, 64, 64)},
                   model)


def test_warp_term_needs_encoder_features():
    cfg = tiny_config(FOMM, **{'model.losses.warp': dict(type='WarpLossTerm')})
    with pytest.raises(ValueError, match='warp loss needs a generator with encoder features'):
        build(cfg)(images(), mode='loss')


# ------------------------------------------------------------ gradients, steps
def test_gradients_reach_the_trained_modules_only():
    cfg = published_training(TPSMM, 'tpsmm/tpsmm_k10_1xb28-100e_vox-256.py',
                             **{'model.bg_start': 1})
    model = build(cfg)
    for epoch, background in ((0, False), (1, True)):
        model.zero_grad(set_to_none=True)
        model.set_epoch(epoch)
        sum(model(images(), mode='loss').values()).backward()
        for part in ('keypoint_detector', 'dense_motion', 'generator'):
            assert any(p.grad is not None and p.grad.abs().sum() > 0
                       for p in getattr(model, part).parameters()), part
        assert all(p.grad is None for p in model.avd.parameters())
        assert all(p.grad is None for p in model.losses.parameters())  # frozen VGG
        got = [p.grad is not None for p in model.background.parameters()]
        assert all(got) if background else not any(got), epoch


def test_train_step_steps_the_background_optimiser_from_bg_start():
    cfg = tiny_config(TPSMM_LITE, **{
        'model.bg_start': 1,
        'model.background': dict(_delete_=True, type='BackgroundMotionPredictor'),
        'model.avd': dict(_delete_=True, type='AVDNetwork', id_bottleneck=8, pose_bottleneck=8)})
    model = build(cfg)
    wrappers = optimisers(model, cfg)
    assert set(wrappers.keys()) == {'generator', 'background'}
    groups = [g['module'] for g in wrappers['generator'].optimizer.param_groups]
    assert groups == ['keypoint_detector', 'dense_motion', 'generator']
    for epoch, background_moves in ((0, False), (1, True)):
        model.set_epoch(epoch)
        before = {part: snapshot(getattr(model, part))
                  for part in ('keypoint_detector', 'generator', 'background', 'avd')}
        log_vars = model.train_step(images(), wrappers)
        assert set(log_vars) >= {'loss', 'loss_reconstruction', 'loss_warp'}
        assert changed(model.keypoint_detector, before['keypoint_detector'])
        assert changed(model.generator, before['generator'])
        assert changed(model.background, before['background']) == background_moves
        assert not changed(model.avd, before['avd'])
        assert all(p.grad is None for p in model.parameters())  # zeroed after the step


def test_fomm_adversarial_step_trains_all_three_optimisers():
    cfg = published_training(FOMM, 'fomm/fomm_k10-adv_1xb36-100e_mgif-256.py',
                             **{'model.image_size': (64, 64)})
    model = build(cfg)
    wrappers = optimisers(model, cfg)
    assert set(wrappers.keys()) == {'generator', 'keypoint_detector', 'discriminator'}
    discriminator = model.losses['adversarial'].loss.discriminator
    before = {name: snapshot(module) for name, module in (
        ('generator', model.generator), ('keypoint_detector', model.keypoint_detector),
        ('discriminator', discriminator))}
    log_vars = model.train_step(images(size=64), wrappers)
    assert {'loss_gen_gan', 'loss_feature_matching', 'loss_disc_gan'} <= set(log_vars)
    assert log_vars['loss'].item() == pytest.approx(sum(
        v.item() for k, v in log_vars.items() if k.startswith('loss_') and k != 'loss_disc_gan'))
    assert changed(model.generator, before['generator'])
    assert changed(model.keypoint_detector, before['keypoint_detector'])
    assert changed(discriminator, before['discriminator'])


def test_avd_stage_trains_the_avd_network_only():
    cfg = published_training(TPSMM, 'tpsmm/tpsmm_k10-avd_1xb256-200e_vox-256.py')
    model = build(cfg)
    assert [name for name in model.losses] == ['avd']
    wrappers = optimisers(model, cfg)
    assert set(wrappers.keys()) == {'avd'}
    everything = copy.deepcopy(model.state_dict())
    log_vars = model.train_step(images(), wrappers)
    assert set(log_vars) == {'loss', 'loss_avd'}
    after = model.state_dict()
    moved = {key.split('.')[0] for key in after if not torch.equal(after[key], everything[key])}
    assert moved == {'avd'}  # detector weights and BatchNorm statistics untouched


# ------------------------------------------------------------------ runs
@fresh_run_state()
def run(cfg: Config, work_dir) -> Runner:
    cfg.work_dir = str(work_dir)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def losses_of(runner):
    return runner.message_hub.get_scalar('train/loss').data[0]


@pytest.mark.parametrize('path', [TPSMM_LITE, CPABMM_LITE, FOMM], ids=['tpsmm', 'cpabmm', 'fomm'])
def test_short_synthetic_training_lowers_the_loss(path, tmp_path):
    """30 iterations over the same 4 videos (random flips), lr 2e-3, no decay."""
    cfg = tiny_config(path, **{**TINY_RUN, 'train_dataloader.batch_size': 4,
                               'train_cfg.max_epochs': 30, 'param_scheduler.milestones': [99]})
    for wrapper in cfg.optim_wrapper.values():
        if isinstance(wrapper, dict):
            wrapper.optimizer.lr = 2e-3
    runner = run(cfg, tmp_path)
    total = runner.message_hub.get_scalar('train/loss').data[0]
    reconstruction = runner.message_hub.get_scalar('train/loss_reconstruction').data[0]
    assert len(total) == 30
    assert total[-5:].mean() < 0.8 * total[:5].mean()
    assert reconstruction[-5:].mean() < 0.7 * reconstruction[:5].mean()
    assert runner.model.epoch == 29  # SetEpochHook


def test_same_seed_same_weights(tmp_path):
    def weights(folder):
        cfg = tiny_config(TPSMM_LITE, **TINY_RUN, **{
            'train_cfg.max_epochs': 2, 'randomness': dict(seed=3, deterministic=True)})
        return run(cfg, tmp_path / folder).model.state_dict()

    first, second = weights('a'), weights('b')
    for key, value in first.items():
        assert torch.equal(value, second[key]), key


def test_visualisation_hook_writes_the_batch_every_interval(tmp_path):
    cfg = tiny_config(TPSMM_LITE, **{**TINY_RUN, 'train_cfg.max_epochs': 2,
                                     'custom_hooks.2.interval': 2,
                                     'custom_hooks.2.max_samples': 1})
    runner = run(cfg, tmp_path)
    images_written = sorted(glob.glob(str(tmp_path / '*' / 'vis_data' / 'vis_image' / '*.png')))
    assert [osp.basename(p) for p in images_written] == [
        'train_animation_2.png', 'train_animation_4.png']
    image = cv2.imread(images_written[0])
    assert image.shape == (128, 5 * 128, 3)  # one sample; 32 px frames shown at 128
    assert runner.model.visuals is None and runner.model.capture_visuals == 0


@MODELS.register_module(force=True)
class BreakAtIteration(torch.nn.Module):
    """A loss term that is 0 but, at its ``at``-th call (1-based), NaN with
    NaN gradients: an unguarded step would turn every weight it reaches NaN."""

    def __init__(self, at: int):
        super().__init__()
        self.at, self.calls = at, 0

    def forward(self, outputs, inputs, animator):
        self.calls += 1
        factor = float('nan') if self.calls == self.at else 0.
        return {'loss_fragile': outputs['prediction'].mean() * factor}


@HOOKS.register_module(force=True)
class WeightHistoryHook(Hook):
    """Keep the parameters after every iteration (1-based)."""

    def __init__(self):
        self.history = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.history[runner.iter + 1] = parameters(runner.model)


def parameters(model):
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def nan_config(action):
    cfg = tiny_config(TPSMM_LITE, **{
        **TINY_RUN, 'train_cfg.max_epochs': 3, 'default_hooks.checkpoint.interval': 1,
        'model.losses.fragile': dict(type='BreakAtIteration', at=4),
        'custom_hooks.1.action': action})
    cfg.custom_hooks.append(dict(type='WeightHistoryHook'))
    return cfg


def hook_of(runner, name):
    return next(hook for hook in runner.hooks if type(hook).__name__ == name)


def assert_same_weights(first, second):
    for key, value in first.items():
        assert torch.equal(value, second[key]), key


@fresh_run_state()
def test_nan_loss_stops_before_the_step_and_keeps_checkpoints_intact(tmp_path):
    cfg = nan_config('stop')
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    with pytest.raises(NonFiniteLossError,
                       match=r'at iteration 4 \(epoch 2\): loss_fragile=nan; stopped before'):
        runner.train()
    # the weights are those after iteration 3: the NaN step never happened
    assert_same_weights(parameters(runner.model), hook_of(runner, 'WeightHistoryHook').history[3])
    assert sorted(osp.basename(p) for p in glob.glob(str(tmp_path / '*.pth'))) == ['epoch_1.pth']
    with open(tmp_path / 'last_checkpoint') as f:
        assert osp.basename(f.read().strip()) == 'epoch_1.pth'
    saved = read_checkpoint(str(tmp_path / 'epoch_1.pth'))['state_dict']
    assert_same_weights(hook_of(runner, 'WeightHistoryHook').history[2],
                        {key: value for key, value in saved.items()})


def test_nan_loss_skip_drops_only_that_step(tmp_path):
    runner = run(nan_config('skip'), tmp_path)
    assert runner.iter == 6
    assert hook_of(runner, 'NonFiniteLossHook').skipped == 1
    history = hook_of(runner, 'WeightHistoryHook').history
    assert_same_weights(history[4], history[3])
    assert not all(torch.equal(value, history[4][key]) for key, value in history[5].items())
    assert all(torch.isfinite(v).all() for v in runner.model.state_dict().values()
               if v.is_floating_point())


def test_without_the_guard_the_nan_step_reaches_the_weights(tmp_path):
    cfg = nan_config('stop')
    cfg.custom_hooks = [hook for hook in cfg.custom_hooks if hook['type'] != 'NonFiniteLossHook']
    cfg.train_cfg.max_epochs = 2
    runner = run(cfg, tmp_path)
    weights = hook_of(runner, 'WeightHistoryHook').history
    assert all(torch.isfinite(value).all() for value in weights[3].values())
    assert not all(torch.isfinite(value).all() for value in weights[4].values())


@pytest.mark.parametrize('path', [TPSMM_LITE, CPABMM_LITE, FOMM], ids=['tpsmm', 'cpabmm', 'fomm'])
def test_bfloat16_mixed_precision_trains_like_float32(path, tmp_path):
    """``--amp`` (``model.mixed_precision='bfloat16'``): the forward pass's
    convolutions run in bfloat16, the motion parameters stay float32, and the
    losses of the same seeded run follow float32's closely."""
    @fresh_run_state()
    def losses(precision, seen=None):
        cfg = tiny_config(path, **TINY_RUN, **{
            'train_cfg.max_epochs': 3, 'randomness': dict(seed=1, deterministic=True),
            'model.mixed_precision': precision})
        cfg.work_dir = str(tmp_path / str(precision))
        runner = Runner.from_cfg(cfg)
        if seen is not None:
            conv = next(m for m in runner.model.generator.modules()
                        if isinstance(m, torch.nn.Conv2d))
            conv.register_forward_hook(lambda module, args, out: seen.add(('conv', out.dtype)))
            runner.model.dense_motion.register_forward_hook(
                lambda module, args, out: seen.update(
                    ('motion', value.dtype) for value in args[4].values()))
        runner.train()
        return torch.as_tensor(losses_of(runner))

    seen = set()
    mixed, full = losses('bfloat16', seen), losses(None)
    assert ('conv', torch.bfloat16) in seen        # the animation forward pass
    assert {dtype for kind, dtype in seen if kind == 'motion'} == {torch.float32}
    assert torch.isfinite(mixed).all() and len(mixed) == len(full) == 6
    assert mixed[0].item() == pytest.approx(full[0].item(), rel=0.02)
    assert mixed.mean().item() == pytest.approx(full.mean().item(), rel=0.1)


def test_unknown_mixed_precision_is_refused():
    cfg = tiny_config(TPSMM_LITE, **{'model.mixed_precision': 'float16'})
    with pytest.raises(ValueError, match="mixed_precision must be one of"):
        build(cfg)
