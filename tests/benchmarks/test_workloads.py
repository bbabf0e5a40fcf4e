"""The workloads of tools/benchmark.py return well-formed figures: positive
times, ratios that agree with the times they come from, errors and sizes
where the comparison needs them; and the configs they run."""
import math
import os.path as osp

import pytest
import torch

from cpabmm import benchmarks
from cpabmm.benchmarks import (LossRecorderHook, convergence_config, training_config,
                               with_frozen_losses)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs')


def test_cpab_backends_are_timed_against_the_reference_of_their_device():
    result = benchmarks.cpab_backend_timings(tess=2, thetas=2, grid=8, repeat=1,
                                             devices=[torch.device('cpu')])
    rows = {row.backend: row for row in result.rows}
    assert set(rows) == {'torch', 'cpp'} and not result.missing  # CI builds the C++ op
    assert all(row.device == 'cpu' and row.seconds > 0 for row in result.rows)
    assert rows['torch'].speedup == 1.0
    assert rows['cpp'].speedup == pytest.approx(rows['torch'].seconds / rows['cpp'].seconds)


def test_solver_rows_are_consistent_and_judge_the_fit(fixtures_dir):
    from cpabmm.checkpoint import read_file
    fixture = read_file(osp.join(fixtures_dir, 'cpab_libcpab_seed0.pt'))
    record = fixture['keypoint_fit']
    motions = benchmarks.build_solvers('auto')
    kp_source, kp_driving = benchmarks.distribution_pairs(record, 'small', 1,
                                                          torch.device('cpu'))
    motions['adam'].adam_iterations = (2, 2)  # the loop's cost is not what is tested here
    rows = benchmarks.solver_timings(motions, kp_source, kp_driving, grid=4, repeat=1)
    assert [row.solver for row in rows] == ['fast', 'adam']
    assert rows[0].fit_ratio == 1.0
    assert rows[1].fit_ratio == pytest.approx(rows[1].fit / rows[0].fit)
    for row in rows:
        assert row.fit > 0 and row.warp > 0
        assert set(row.errors) == set(row.theta_sizes) == set(row.determinants) == {
            'partial', 'global'}
        assert all(math.isfinite(e) and e >= 0 for e in row.errors.values())
        assert all(0 < low <= high for low, high in row.determinants.values())
    scaled = benchmarks.published_loop_seconds(record, 8)
    assert scaled == pytest.approx(2 * benchmarks.published_loop_seconds(record, 4)) and scaled > 0
    comparison = benchmarks.published_comparison(motions['fast'], fixture, torch.device('cpu'))
    assert set(comparison) == {'partial', 'global'}
    for figures in comparison.values():
        assert all(math.isfinite(v) and v >= 0 for v in figures.values())
        # the fast solver fits the fixture's pairs at least as well as the published loop
        assert figures['fast_error'] <= 1.5 * figures['published_error']


def test_forward_benchmark_times_the_motion_fit_within_the_forward():
    from cpabmm.apis import init_model
    torch.manual_seed(0)
    model = init_model(osp.join(CONFIGS, 'cpabmm', 'cpabmm_k10-small_1xb8-20e_synthetic-64.py'))
    timing = benchmarks.benchmark_forward(model, size=64, repeats=2)
    assert timing['repeats'] == 2 and 0 < timing['min'] <= timing['mean'] <= timing['max']
    assert 0 < timing['fit'] < timing['mean'] and 0 < timing['fit_cpu'] < timing['cpu']
    assert 'fit' not in vars(model.motion)


def test_training_steps_are_timed_per_model_and_precision():
    results = benchmarks.train_step_timings(CONFIGS, ['TPSMM'], 64, 1, 1, amp=True)
    assert set(results) == {'TPSMM'} and set(results['TPSMM']) == {'float32', 'bfloat16'}
    assert all(t.wall > 0 and t.cpu > 0 for t in results['TPSMM'].values())
    with pytest.raises(ValueError, match='unknown model'):
        benchmarks.train_step_timings(CONFIGS, ['GAN'], 64, 1, 1)


@pytest.mark.parametrize('size, scales', [(64, (1, 0.5, 0.25)), (256, (1, 0.5, 0.25, 0.125))])
def test_the_perceptual_option_adds_the_published_vgg_pyramid_with_random_weights(size, scales):
    """At the published scales VGG-19 takes at the size (it pools 16x)."""
    losses = training_config(CONFIGS, 'TPSMM', size, perceptual=True).model.losses
    loss = losses['perceptual']['loss']
    assert loss['type'] == 'PerceptualPyramidLoss' and tuple(loss['scales']) == scales
    assert loss['backbone'] == dict(type='VGG19', pretrained=False)
    assert 'reconstruction' in losses   # the weight-free losses stay
    assert 'perceptual' not in training_config(CONFIGS, 'TPSMM', size).model.losses


def test_a_step_with_the_perceptual_loss_is_timed():
    timing = benchmarks.train_step_timings(CONFIGS, ['FOMM'], 64, 1, 1, perceptual=True)
    assert timing['FOMM']['float32'].wall > 0


def test_config_files_are_timed_with_the_options_merged_in():
    path = osp.join(CONFIGS, 'fomm', 'fomm_k10-lite_1xb8-20e_synthetic-64.py')
    options = {'train_dataloader.batch_size': 1}
    timing = benchmarks.config_step_timings([path], 1, options=options)[path]
    assert timing.wall > 0 and timing.cpu > 0
    with pytest.raises(TypeError, match='solver'):   # the options reach the model
        benchmarks.config_step_timings([path], 1, options={'model.motion.type': 'AffineMotion',
                                                           'model.motion.solver': 'adam'})


def test_frozen_losses_are_added_with_random_weights():
    cfg = training_config(CONFIGS, 'CPABMM', 64)
    both = with_frozen_losses(cfg, sam='vit_b', dino={})
    sam = both.model.losses['keypoint_semantic']
    assert sam['type'] == 'KeypointSemanticTerm'
    assert sam['loss']['encoder'] == dict(type='SAMImageEncoder', arch='vit_b', pretrained=False)
    assert both.model.losses['structure']['loss']['backbone']['pretrained'] is False
    assert 'keypoint_semantic' not in cfg.model.losses  # the original is untouched
    assert set(with_frozen_losses(cfg).model.losses) == set(cfg.model.losses)
    tiny = with_frozen_losses(cfg, dino=benchmarks.dino_arch('tiny')).model.losses['structure']
    assert tiny['loss']['backbone'] == dict(type='DINOViT', pretrained=False, embed_dim=32,
                                            depth=2, num_heads=2)
    with pytest.raises(ValueError, match="unknown DINO setting 'vit_l'"):
        benchmarks.dino_arch('vit_l')


def test_convergence_config_runs_whole_epochs_without_writing_files(tmp_path):
    cfg = convergence_config(CONFIGS, 'TPSMM', 20, str(tmp_path))
    assert cfg.train_cfg.max_epochs == 2  # 15 iterations an epoch
    assert convergence_config(CONFIGS, 'TPSMM', 300, str(tmp_path)).train_cfg.max_epochs == 20
    assert cfg.default_hooks.checkpoint is None and cfg.work_dir == str(tmp_path)
    assert all(hook['type'] != 'AnimationVisualizationHook' for hook in cfg.custom_hooks)
    with pytest.raises(ValueError, match='unknown model'):
        convergence_config(CONFIGS, 'GAN', 20, str(tmp_path))


def test_loss_recorder_needs_the_total_loss():
    recorder = LossRecorderHook()
    recorder.after_train_iter(None, 0, outputs={'loss': torch.tensor(0.5), 'loss_l1': 0.2})
    assert recorder.losses == [0.5]
    with pytest.raises(ValueError, match='no "loss"'):
        recorder.after_train_iter(None, 1, outputs={'loss_l1': 0.2})


def test_startup_stages_run_in_new_processes_up_to_the_demo_first_frame():
    seconds = benchmarks.startup_seconds(REPO, 'cpabmm-lite', osp.join(REPO, 'demo', 'source.png'),
                                         repeats=1)
    labels = [label for label, _ in benchmarks.stage_programs('cpabmm-lite', 'cpu')]
    assert list(seconds)[:-1] == labels and list(seconds)[-1].startswith('tools/demo.py')
    assert all(value > 0 for value in seconds.values())
    # a process that imports torch and builds a model outlasts an empty one
    assert seconds[labels[-1]] > seconds['import torch'] > seconds['Python']
