"""torch.compile of the animation networks (cpabmm.models.compile).

The fast tests trace with Dynamo only (``backend='eager'``/``'aot_eager'``).
The ``slow`` ones compile with Inductor on the CPU, as ``--compile`` does,
and compare with the eager model: float32 within a mean absolute difference
of 1e-3, float64 within 1e-10. Inductor's CPU code generation costs seconds
per kernel (about a minute per model and dtype on two busy cores, a few
seconds once its on-disk cache holds the graphs), so they use the lite
configs with the fewest blocks each network takes: the same classes and code
paths, fewer layers.
"""
import copy
import os.path as osp

import pytest
import torch

from cpabmm.apis import init_model
from cpabmm.benchmarks import random_frames
from cpabmm.engine.runner import compile_options
from cpabmm.models import compile as compile_module
from cpabmm.models.compile import (AUTO_MODES, COMPILED_PARTS, CompileUnavailableError,
                                   auto_mode, check_compile_available, compile_model,
                                   compiled_parts)

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')
CPABMM = osp.join(CONFIGS, 'cpabmm', 'cpabmm_k10-lite_1xb8-20e_synthetic-64.py')
TPSMM = osp.join(CONFIGS, 'tpsmm', 'tpsmm_k10-lite_1xb8-20e_synthetic-64.py')
#: the fewest blocks: one hourglass level in the detector and the dense
#: motion network, one encoder level in the generator (and so two masks)
FEWEST_BLOCKS = {'model.keypoint_detector.num_blocks': 1, 'model.dense_motion.num_blocks': 1,
                 'model.dense_motion.num_occlusion_masks': 2,
                 'model.generator.num_down_blocks': 1}
NETWORKS = ('keypoint_detector', 'dense_motion', 'generator')


def build(config, dtype=torch.float32, compile=False):
    torch.manual_seed(0)
    return init_model(config, cfg_options=FEWEST_BLOCKS, compile=compile).to(dtype)


def mean_abs_diff(a, b) -> float:
    return (a - b).abs().mean().item()


@pytest.fixture(scope='module')
def dynamo_model():
    """The CPABMM lite model compiled for Dynamo only (no code generation)."""
    torch._dynamo.reset()
    model = compile_model(build(CPABMM), backend='aot_eager')
    yield model
    torch._dynamo.reset()


# ---------------------------------------------------------------- what is compiled
def test_networks_compile_in_place_and_the_motion_model_stays_eager(dynamo_model):
    model = dynamo_model
    eager = build(CPABMM)
    assert compiled_parts(model) == NETWORKS   # no background predictor in lite configs
    for name in NETWORKS:
        assert 'forward' in vars(getattr(model, name))
        assert 'forward' not in vars(getattr(eager, name))
    for name in ('fit', 'warp', 'warp_points'):
        assert getattr(model.motion, name).__func__._torchdynamo_disable
    # the same parameters and buffers under the same names: checkpoints load alike
    assert list(model.state_dict()) == list(eager.state_dict())
    model.load_state_dict(eager.state_dict())
    # compiling again replaces the compiled forwards, it does not nest them
    compile_model(model, backend='aot_eager')
    assert model.generator.forward.__func__ is not type(model.generator).forward
    assert model.motion.fit.__func__.__wrapped__ is type(model.motion).fit


def test_a_deep_copy_runs_its_own_networks(dynamo_model):
    copied = copy.deepcopy(dynamo_model)
    for name in NETWORKS:
        assert getattr(copied, name).forward.__self__ is getattr(copied, name)
    assert copied.motion.fit.__self__ is copied.motion


def test_training_forward_and_backward_go_through_the_compiled_networks(dynamo_model):
    model = dynamo_model
    source, driving = random_frames(64, batch_size=2, seed=1)
    model.train()
    try:
        out = model.compute_outputs(source, driving)
        out['prediction'].mean().backward()
    finally:
        model.eval()
    grads = [p.grad for name in NETWORKS for p in getattr(model, name).parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    model.zero_grad()


def test_a_wrapped_model_compiles_its_module():
    model = build(TPSMM)
    wrapper = torch.nn.parallel.DistributedDataParallel.__new__(
        torch.nn.parallel.DistributedDataParallel)
    torch.nn.Module.__init__(wrapper)
    wrapper.module = model
    assert compile_model(wrapper, backend='eager') is wrapper
    assert compiled_parts(model) == NETWORKS


# ---------------------------------------------------------------- modes and errors
def test_auto_mode_by_device():
    assert auto_mode('cpu') is None and auto_mode(torch.device('cpu')) is None
    assert auto_mode('cuda:1') == AUTO_MODES['cuda'] == 'max-autotune-no-cudagraphs'
    assert set(COMPILED_PARTS) >= set(NETWORKS) | {'background'}


def test_config_compile_entry_maps_to_compile_arguments():
    from cpabmm.engine import ConfigError
    assert compile_options(True) == {}
    assert compile_options({'mode': 'reduce-overhead'}) == {'mode': 'reduce-overhead'}
    with pytest.raises(ConfigError, match='compile must be True, False or a dict'):
        compile_options('yes')


def test_missing_cxx_compiler_is_a_one_line_error(monkeypatch):
    import torch._inductor.cpp_builder as cpp_builder

    def no_compiler():
        raise RuntimeError('no compiler')

    compile_module._check.cache_clear()
    monkeypatch.setattr(cpp_builder, 'get_cpp_compiler', no_compiler)
    try:
        with pytest.raises(CompileUnavailableError) as error:
            check_compile_available('cpu')
        assert error.value.needs.startswith('a C++ compiler on the PATH')
        assert str(error.value) == f'torch.compile needs {error.value.needs}'
        assert '\n' not in str(error.value)
        with pytest.raises(CompileUnavailableError):  # before anything is built
            init_model(TPSMM, compile=True)
    finally:
        compile_module._check.cache_clear()


def test_failing_test_compile_is_a_one_line_error(monkeypatch):
    def broken(device):
        raise RuntimeError('InductorError: CppCompileError: C++ compile error\nCommand:\ng++ ...')

    compile_module._check.cache_clear()
    monkeypatch.setattr(compile_module, '_smoke_test', broken)
    try:
        with pytest.raises(CompileUnavailableError, match=r'a working Inductor on cpu \(a test '
                           r'compile failed with RuntimeError: InductorError: CppCompileError'):
            check_compile_available('cpu')
    finally:
        compile_module._check.cache_clear()


# ---------------------------------------------------------------- Inductor vs eager
def inductor_or_skip():
    try:
        check_compile_available('cpu')
    except CompileUnavailableError as error:
        pytest.skip(str(error))


def eager_and_compiled(config, dtype, batch):
    """The outputs of the eager model and of its Inductor-compiled twin (the
    same weights) on the same random frames."""
    inductor_or_skip()
    torch._dynamo.reset()
    eager = build(config, dtype)
    compiled = build(config, dtype, compile=True)
    compiled.load_state_dict(eager.state_dict())
    assert compiled_parts(compiled) == NETWORKS
    source, driving = (f.to(dtype) for f in random_frames(64, batch_size=batch, seed=1))
    with torch.no_grad():
        outputs = eager.compute_outputs(source, driving), compiled.compute_outputs(source, driving)
    torch._dynamo.reset()
    return outputs


@pytest.mark.slow
def test_inductor_float64_matches_eager_cpabmm():
    """Inductor's kernels compute what the eager networks do: in float64 the
    outputs agree to 1e-10 (float32 differs by reordering only: about 4e-5
    mean on the lite TPSMM at batch 2, see docs/demo.md). One model only:
    compiling it takes over a minute on two cores."""
    eager, compiled = eager_and_compiled(CPABMM, torch.float64, batch=1)
    for key in ('prediction', 'flow', 'contribution_maps', 'deformed'):
        assert compiled[key].dtype == torch.float64
        assert mean_abs_diff(compiled[key], eager[key]) <= 1e-10, key
    for which in ('kp_source', 'kp_driving'):
        assert mean_abs_diff(compiled[which]['value'], eager[which]['value']) <= 1e-10
