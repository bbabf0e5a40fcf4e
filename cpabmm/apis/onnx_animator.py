"""Animate with ONNX graphs (:func:`cpabmm.deploy.export_onnx`) on onnxruntime.

An :class:`OnnxAnimator` takes the place of the PyTorch model in the Python
API (``animate(OnnxAnimator(folder), source, driving, mode=...)``,
:class:`~cpabmm.apis.Animation`, ``tools/demo.py --backend onnxruntime``):
it has the model's ``detect_keypoints``, ``animate`` and ``avd`` and its
image size, and runs the exported graphs instead of the networks. Tensors go
in and come out on the CPU. Where the export kept the motion model in
PyTorch (CPABMM's keypoint fit and CPAB transformation), it is built from
the manifest's config and run between the keypoint and the dense motion
graph.
"""
from __future__ import annotations

import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.registry import DefaultScope
from torch import Tensor

from cpabmm.deploy.manifest import read_manifest
from cpabmm.models.layers import coordinate_grid
from cpabmm.models.motion.base import Keypoints
from cpabmm.registry import MODELS

#: onnxruntime execution providers by device type
PROVIDERS = {'cpu': ['CPUExecutionProvider'],
             'cuda': ['CUDAExecutionProvider', 'CPUExecutionProvider']}


class OnnxRuntimeUnavailable(ImportError):
    """onnxruntime is not installed (one-line message naming the fix)."""


def _import_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise OnnxRuntimeUnavailable('the onnxruntime backend needs onnxruntime: '
                                     'pip install -e .[onnx]') from None
    return onnxruntime


class OnnxAnimator:
    """An exported animation model run by onnxruntime.

    Args:
        folder: the export folder (``animator.json`` and the graphs).
        device: ``'cpu'`` or ``'cuda'`` (onnxruntime's CUDA provider, which
            needs the onnxruntime-gpu package).
        threads: onnxruntime's intra-op threads (None: its default).
    """

    training = False

    def __init__(self, folder: str, device: str = 'cpu', threads: Optional[int] = None):
        ort = _import_onnxruntime()
        self.manifest = manifest = read_manifest(folder)
        device_type = torch.device(device).type
        if device_type not in PROVIDERS:
            raise ValueError(f'the onnxruntime backend runs on {sorted(PROVIDERS)}, not {device}')
        providers = PROVIDERS[device_type]
        if providers[0] not in ort.get_available_providers():
            raise ValueError(f'this onnxruntime has no {providers[0]} (it has '
                             f'{ort.get_available_providers()}); install onnxruntime-gpu for '
                             'CUDA, or use --device cpu')
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        self.sessions = {stage: ort.InferenceSession(osp.join(folder, graph['file']), options,
                                                     providers=providers)
                         for stage, graph in manifest['graphs'].items()}
        self.folder = folder
        self.image_size = tuple(manifest['image_size'])
        self.size_multiple = manifest['size_multiple']
        self.device = torch.device('cpu')
        self.entries: List[str] = manifest['keypoint_entries']
        self.dynamic_batch = manifest['dynamic_batch']
        motion = manifest['motion']
        self.motion = None
        if not motion['in_graph']:
            with DefaultScope.overwrite_default_scope('cpabmm'):
                self.motion = MODELS.build(motion['config']).eval()
        self.avd = self._avd if 'avd' in self.sessions else None

    def __repr__(self) -> str:
        return (f"OnnxAnimator({self.folder!r}, {self.manifest['motion']['type']}, "
                f'{self.image_size[0]}x{self.image_size[1]})')

    # ------------------------------------------------------------ stages
    def run(self, stage: str, inputs: Sequence[Tensor]) -> List[Tensor]:
        """Run one graph on tensors given in the order of its inputs; a graph
        exported for batch 1 is run sample by sample."""
        session = self.sessions[stage]
        names = self.manifest['graphs'][stage]['inputs']
        arrays = [np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
                  for x in inputs]
        batch = arrays[0].shape[0]
        if self.dynamic_batch or batch == 1:
            outputs = session.run(None, dict(zip(names, arrays)))
        else:
            samples = [session.run(None, {name: a[i:i + 1] for name, a in zip(names, arrays)})
                       for i in range(batch)]
            outputs = [np.concatenate(parts) for parts in zip(*samples)]
        return [torch.from_numpy(out) for out in outputs]

    def detect_keypoints(self, image: Tensor) -> Keypoints:
        return dict(zip(self.entries, self.run('keypoints', [image])))

    def dense_motion(self, source: Tensor, kp_source: Keypoints,
                     kp_driving: Keypoints) -> Dict[str, object]:
        """``flow`` and the ``occlusion`` masks (the motion model fitted
        here first when the export kept it in PyTorch)."""
        if self.motion is None:
            inputs = ([source] + [kp_source[e] for e in self.entries]
                      + [kp_driving[e] for e in self.entries])
        else:
            with torch.no_grad():
                params = self.motion.fit(kp_source, kp_driving)
                grid = coordinate_grid(tuple(self.manifest['working_size']), torch.float32,
                                       torch.device('cpu'))
                warps = self.motion.warp(params, grid)
            inputs = [source, kp_source['value'], kp_driving['value'], warps]
        flow, *occlusion = self.run('dense_motion', inputs)
        return {'flow': flow, 'occlusion': occlusion}

    def generate(self, source: Tensor, flow: Tensor, occlusion: Sequence[Tensor]) -> Tensor:
        return self.run('generator', [source, flow, *occlusion])[0]

    def animate(self, source: Tensor, kp_source: Keypoints,
                kp_driving: Keypoints) -> Dict[str, object]:
        """The model's :meth:`~cpabmm.models.ImageAnimator.animate`:
        ``prediction``, ``flow`` and ``occlusion``."""
        out = self.dense_motion(source, kp_source, kp_driving)
        out['prediction'] = self.generate(source, out['flow'], out['occlusion'])
        return out

    def _avd(self, kp_source: Keypoints, kp_driving: Keypoints) -> Keypoints:
        return {'value': self.run('avd', [kp_source['value'], kp_driving['value']])[0]}
