"""ONNX export and onnxruntime against PyTorch, stage by stage and end to end.

The models are the published FOMM, TPSMM and CPABMM networks with the
fixtures' recipe weights (``../shared/fixtures/README.md``) converted to our
layout; CPABMM's networks, which have no official checkpoint layout of their
own, draw the recipe under TPSMM's official key names. Every family is
exported at two frame sizes.

Tolerances (fixtures/README.md): these random-weight networks amplify
float32 rounding, so stages are fed the same inputs and compared to 1e-4,
end to end to a mean of 1e-3. Where a stage starts with a motion fit (FOMM's
2x2 and TPS's 8x8 inverses, condition numbers up to 3e3), float32 PyTorch
itself lands up to 1e-3 away from its float64 result in the occlusion masks:
there onnxruntime (whose inverse runs in float64) must be within 1e-4 of the
float64 result or at most twice as far from it as PyTorch's float32 is
(measured at 256 px: onnxruntime 4e-4 to 6e-4, PyTorch 9e-4 to 1.1e-3), and
within 5e-3 of it.
"""
import copy
import multiprocessing
import os.path as osp
from concurrent.futures import ProcessPoolExecutor

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope

from cpabmm.apis import OnnxAnimator, animate
from cpabmm.checkpoint import load_state_dict_checked
from cpabmm.registry import MODELS
from tests.models.official_weights import recipe_weights_for

onnx = pytest.importorskip('onnx', reason='the onnx extra is part of the test set-up')
from cpabmm.deploy import ExportError, export_onnx, read_manifest  # noqa: E402

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_', 'models')
#: family -> (its base model config, the fixture whose key names draw the recipe)
FAMILIES = {'fomm': ('fomm.py', 'fomm'), 'tpsmm': ('tpsmm.py', 'tpsmm'),
            'cpabmm': ('cpabmm.py', 'tpsmm')}
SIZES = (128, 256)
STAGE_TOL = 1e-4
END_TO_END_MEAN_TOL = 1e-3
FIT_STAGE_TOL = 5e-3


def build_model(fixtures_dir, family: str, size: int):
    config_file, official = FAMILIES[family]
    init_default_scope('cpabmm')
    cfg = Config.fromfile(osp.join(CONFIGS, config_file))
    cfg.model.image_size = (size, size)
    cfg.model.pop('losses', None)
    model = MODELS.build(cfg.model).eval()
    fixture = torch.load(osp.join(fixtures_dir, f'{official}_vox-256.pt'), weights_only=True)
    load_state_dict_checked(model, recipe_weights_for(model, official,
                                                      fixture['state_dict_shapes']))
    frames = [F.interpolate(fixture[name], size=(size, size), mode='bilinear',
                            align_corners=False) for name in ('source', 'driving')]
    return model, cfg.model.motion, frames


def export_family(fixtures_dir: str, family: str, size: int, folder: str) -> None:
    """Build and export one (family, size) model (in a worker process)."""
    torch.set_num_threads(1)
    model, motion_config, _ = build_model(fixtures_dir, family, size)
    export_onnx(model, folder, motion_config=motion_config)


@pytest.fixture(scope='module')
def export_folders(fixtures_dir, tmp_path_factory):
    """Every (family, size) exported into its folder, two at a time in new
    processes: exporting is mostly single-threaded Python (tracing), about
    10 s a model."""
    root = tmp_path_factory.mktemp('onnx')
    folders = {(family, size): str(root / f'{family}-{size}')
               for family in FAMILIES for size in SIZES}
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context('spawn')) as pool:
        jobs = [pool.submit(export_family, fixtures_dir, *key, folder)
                for key, folder in folders.items()]
        for job in jobs:
            job.result()
    return folders


@pytest.fixture(scope='module', params=[(family, size) for family in FAMILIES
                                        for size in SIZES], ids=lambda p: f'{p[0]}-{p[1]}')
def exported(request, fixtures_dir, export_folders):
    family, size = request.param
    model, _, (source, driving) = build_model(fixtures_dir, family, size)
    folder = export_folders[family, size]
    return dict(family=family, model=model, runtime=OnnxAnimator(folder), folder=folder,
                manifest=read_manifest(folder), source=source, driving=driving)


def max_error(actual, expected) -> float:
    return (actual.double() - expected.double()).abs().max().item()


def test_graphs_pass_the_checker(exported):
    graphs = exported['manifest']['graphs']
    expected = {'keypoints', 'dense_motion', 'generator'} | (
        {'avd'} if exported['model'].avd is not None else set())
    assert set(graphs) == expected
    for graph in graphs.values():
        onnx.checker.check_model(osp.join(exported['folder'], graph['file']), full_check=True)
    in_graph = exported['manifest']['motion']['in_graph']
    assert in_graph == (exported['family'] != 'cpabmm')


def test_stages_match_pytorch(exported):
    model, runtime = exported['model'], exported['runtime']
    source, driving = exported['source'], exported['driving'][1:2]
    with torch.no_grad():
        kp_source, kp_driving = model.detect_keypoints(source), model.detect_keypoints(driving)
        ort_keypoints = runtime.detect_keypoints(source)
        assert set(ort_keypoints) == set(kp_source)
        for entry, value in kp_source.items():
            assert max_error(ort_keypoints[entry], value) < STAGE_TOL, entry

        expected = model.animate(source, kp_source, kp_driving)
        generated = runtime.generate(source, expected['flow'], expected['occlusion'])
        assert max_error(generated, expected['prediction']) < STAGE_TOL

        if model.avd is not None:
            assert max_error(runtime.avd(kp_source, kp_driving)['value'],
                             model.avd(kp_source, kp_driving)['value']) < STAGE_TOL

        dense = runtime.dense_motion(source, kp_source, kp_driving)
        outputs = [('flow', dense['flow'], expected['flow'])] + [
            (f'occlusion_{i}', a, b)
            for i, (a, b) in enumerate(zip(dense['occlusion'], expected['occlusion']))]
        if not exported['manifest']['motion']['in_graph']:
            for name, actual, wanted in outputs:
                assert max_error(actual, wanted) < STAGE_TOL, name
            return
        model64 = copy.deepcopy(model).double()
        kp_source64, kp_driving64 = ({k: v.double() for k, v in kp.items()}
                                     for kp in (kp_source, kp_driving))
        exact = model64.dense_motion(source.double(), kp_source64, kp_driving64, model64.motion,
                                     model64.motion.fit(kp_source64, kp_driving64))
        exact = [exact['flow']] + exact['occlusion']
        for (name, actual, wanted), reference in zip(outputs, exact):
            ort_error, torch_error = max_error(actual, reference), max_error(wanted, reference)
            assert ort_error < FIT_STAGE_TOL, (name, ort_error, torch_error)
            assert ort_error <= max(STAGE_TOL, 2 * torch_error), (name, ort_error, torch_error)


def test_end_to_end(exported):
    """The demo's relative mode, images in and frames out (in a batch of
    2, which graphs exported for batch 1 run sample by sample)."""
    model, runtime = exported['model'], exported['runtime']
    source, driving = exported['source'], exported['driving'][:2]
    expected = torch.stack(list(animate(model, source, driving, output='tensor')))
    actual = torch.stack(list(animate(runtime, source, driving, batch_size=2,
                                      output='tensor')))
    assert actual.shape == expected.shape == (len(driving), 3, *model.image_size)
    error = (actual - expected).abs().mean().item()
    assert error < END_TO_END_MEAN_TOL


def test_unsupported_exports_are_one_line_errors(tmp_path):
    """Nothing is written for a CPAB model without its motion config (its fit
    stays in PyTorch) or a model without a fixed frame size."""
    from cpabmm.apis import init_model
    model = init_model(osp.join(CONFIGS, '..', '..', 'cpabmm',
                                'cpabmm_k10-lite_1xb8-20e_synthetic-64.py'))
    with pytest.raises(ExportError, match='CPABMotion stays in PyTorch; pass its config'):
        export_onnx(model, str(tmp_path / 'cpab'))
    model.image_size = None
    with pytest.raises(ExportError, match='no fixed image_size; set one'):
        export_onnx(model, str(tmp_path / 'any-size'), motion_config={})
    assert not list(tmp_path.iterdir())
