"""Export an animation model to ONNX: one graph per stage and a manifest.

:func:`export_onnx` writes into a folder

* ``keypoints.onnx``, ``dense_motion.onnx``, ``generator.onnx`` and, for
  models with an AVD network, ``avd.onnx`` (:mod:`cpabmm.deploy.graphs`);
* ``animator.json``, the manifest (:mod:`cpabmm.deploy.manifest`): image size, the graphs' files (with
  SHA-256), inputs and outputs, the keypoint entries, and how the motion is
  computed. FOMM's affine and TPSMM's spline fits are inside the dense
  motion graph; CPABMM's keypoint fit and CPAB transformation stay in
  PyTorch (the manifest holds the motion model's config, which
  :class:`~cpabmm.apis.OnnxAnimator` builds), between the keypoint and the
  dense motion graph. Putting them in the graph would need the CPAB
  integration as an onnxruntime custom operator (docs/deploy.md).

Every graph is checked with ``onnx.checker`` before anything is written;
files appear complete or not at all, the manifest last.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from cpabmm.fileio import atomic_path, check_writable_destination
from cpabmm.version import __version__
from cpabmm.zoo.checksum import file_sha256
from .graphs import (AVDGraph, DenseMotionGraph, GeneratorGraph, KeypointGraph,
                     keypoint_inputs)
from .manifest import FORMAT_VERSION, write_manifest

#: ONNX opset written by default (GridSample needs 16 or newer)
DEFAULT_OPSET = 18
MIN_OPSET = 16
#: the keypoint entries in the order the graphs take them
KEYPOINT_ENTRIES = ('value', 'jacobian')


class ExportError(ValueError):
    """A model or option the exporter cannot handle (one-line message)."""


def _require_onnx() -> None:
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as error:
        raise ExportError(f'ONNX export needs onnx and onnxscript ({error.name} is missing): '
                          'pip install -e .[onnx]') from None


def _keypoint_entries(keypoints: Dict[str, Tensor]) -> List[str]:
    unknown = sorted(set(keypoints) - set(KEYPOINT_ENTRIES))
    if unknown:
        raise ExportError(f'the keypoint detector gives entries {unknown} that the ONNX '
                          f'graphs do not carry (only {list(KEYPOINT_ENTRIES)})')
    return [entry for entry in KEYPOINT_ENTRIES if entry in keypoints]


def _batch_dims(args: Sequence[Tensor], dynamic: bool):
    """``dynamic_shapes`` for a graph module's ``forward(*inputs)``."""
    if not dynamic:
        return None
    batch = torch.export.Dim('batch', min=1, max=1024)
    return (tuple({0: batch} for _ in args),)


def _export(module: nn.Module, args: Tuple[Tensor, ...], inputs: Sequence[str],
            outputs: Sequence[str], opset: int, dynamic_batch: bool):
    """The ONNX program of ``module(*args)``, checked."""
    import onnx
    from .onnx_ops import translation_table
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        program = torch.onnx.export(
            module, args, dynamo=True, input_names=list(inputs), output_names=list(outputs),
            opset_version=opset, dynamic_shapes=_batch_dims(args, dynamic_batch),
            custom_translation_table=translation_table(), verbose=False,
            # onnxscript's optimizer takes constants within 1e-8 of zero for
            # zero and drops TPS's log(r^2 + 1e-9) guard (nan flows follow);
            # onnxruntime optimises the graphs when it loads them
            optimize=False)
    onnx.checker.check_model(program.model_proto, full_check=True)
    return program


def _stage(name: str, module: nn.Module, args: Tuple[Tensor, ...], inputs: Sequence[str],
           outputs: Sequence[str]) -> Dict[str, Any]:
    return dict(name=name, module=module.eval(), args=args, inputs=list(inputs),
                outputs=list(outputs))


def export_onnx(model: nn.Module, out_dir: str, motion_config: Optional[dict] = None,
                opset: int = DEFAULT_OPSET, dynamic_batch: bool = False,
                source: Optional[Dict[str, str]] = None,
                progress: Optional[Callable[[str], None]] = None) -> Dict[str, Any]:
    """Export ``model`` (an :class:`~cpabmm.models.ImageAnimator` with a
    fixed ``image_size``) to ONNX graphs in ``out_dir``.

    Args:
        model: the model; it is put in eval mode.
        out_dir: the export folder (created; files of an earlier export there
            are replaced).
        motion_config: the config of ``model.motion`` (needed when its fit
            stays in PyTorch, e.g. CPAB; stored in the manifest).
        opset: ONNX opset (16 or newer).
        dynamic_batch: graphs take any batch size (else batch 1).
        source: where the weights came from (e.g. ``config``, ``checkpoint``
            and its ``sha256``), recorded in the manifest.
        progress: called with each stage's name before it is exported.

    Returns:
        The manifest written to ``out_dir/animator.json``.

    Raises:
        ExportError: the ``onnx`` extra is not installed; a model without
            a fixed image size or with one its networks cannot take; an
            opset below 16; a missing ``motion_config``; keypoint entries the
            graphs cannot carry.
    """
    _require_onnx()
    if model.image_size is None:
        raise ExportError('the model has no fixed image_size; set one (e.g. --size 256) so '
                          'the graphs have static spatial shapes')
    multiple = model.size_multiple
    if any(side % multiple for side in model.image_size):
        raise ExportError(f'{model.image_size[0]}x{model.image_size[1]} frames do not fit this '
                          f'model: its sides must be multiples of {multiple}')
    if opset < MIN_OPSET:
        raise ExportError(f'opset {opset} has no GridSample; use --opset {MIN_OPSET} or newer')
    fit_in_graph = bool(getattr(model.motion, 'onnx_exportable', False))
    if not fit_in_graph and motion_config is None:
        raise ExportError(f'{type(model.motion).__name__} stays in PyTorch; pass its config '
                          '(motion_config) so the runtime can build it')
    out_dir = check_writable_destination(out_dir, kind='folder')
    model = model.eval()
    stages, meta = _trace_inputs(model, fit_in_graph, 2 if dynamic_batch else 1)

    programs = {}
    with torch.no_grad():
        for stage in stages:
            if progress is not None:
                progress(stage['name'])
            programs[stage['name']] = _export(stage['module'], stage['args'], stage['inputs'],
                                              stage['outputs'], opset, dynamic_batch)
    files = {}
    os.makedirs(out_dir, exist_ok=True)
    for stage in stages:
        name = f"{stage['name']}.onnx"
        path = osp.join(out_dir, name)
        with atomic_path(path) as temporary:
            programs[stage['name']].save(temporary, external_data=False)
        files[stage['name']] = dict(file=name, sha256=file_sha256(path),
                                    inputs=stage['inputs'], outputs=stage['outputs'])
    manifest = dict(
        format_version=FORMAT_VERSION, cpabmm_version=__version__,
        torch_version=torch.__version__, opset=opset, dynamic_batch=dynamic_batch,
        image_size=list(model.image_size), size_multiple=model.size_multiple,
        keypoint_entries=meta['entries'], working_size=meta['working_size'],
        num_transforms=model.motion.num_transforms,
        motion=dict(type=type(model.motion).__name__, in_graph=fit_in_graph,
                    config=None if fit_in_graph else _plain(motion_config)),
        graphs=files, source=source or {})
    write_manifest(out_dir, manifest)
    return manifest


def _trace_inputs(model: nn.Module, fit_in_graph: bool, batch: int):
    """The stages to export and example inputs for each (from random
    images through the model itself, so every input is realistic)."""
    height, width = model.image_size
    generator = torch.Generator().manual_seed(0)
    source, driving = torch.rand(2, batch, model.num_channels, height, width,
                                 generator=generator)
    with torch.no_grad():
        kp_source, kp_driving = model.detect_keypoints(source), model.detect_keypoints(driving)
        entries = _keypoint_entries(kp_source)
        params = model.motion.fit(kp_source, kp_driving)
        warps = model.dense_motion.motion_warps(source, model.motion, params)
        dense = model.dense_motion.from_warps(source, kp_source, kp_driving, warps)
    masks = [f'occlusion_{i}' for i in range(len(dense['occlusion']))]
    carried = entries if fit_in_graph else ['value']
    dense_inputs = (['source'] + keypoint_inputs('kp_source', carried)
                    + keypoint_inputs('kp_driving', carried) + ([] if fit_in_graph else ['warps']))
    dense_args = ((source,) + tuple(kp_source[e] for e in carried)
                  + tuple(kp_driving[e] for e in carried) + (() if fit_in_graph else (warps,)))
    stages = [
        _stage('keypoints', KeypointGraph(model, entries), (source,), ['image'], entries),
        _stage('dense_motion', DenseMotionGraph(model, entries, fit_in_graph), dense_args,
               dense_inputs, ['flow'] + masks),
        _stage('generator', GeneratorGraph(model), (source, dense['flow'], *dense['occlusion']),
               ['source', 'flow'] + masks, ['prediction']),
    ]
    if getattr(model, 'avd', None) is not None:
        stages.append(_stage('avd', AVDGraph(model), (kp_source['value'], kp_driving['value']),
                             ['kp_source_value', 'kp_driving_value'], ['value']))
    meta = dict(entries=entries, working_size=list(warps.shape[2:4]))
    return stages, meta


def _plain(config: Any) -> Any:
    """A config (ConfigDict) as plain JSON values."""
    return json.loads(json.dumps(config))
