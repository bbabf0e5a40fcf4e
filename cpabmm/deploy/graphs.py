"""The stages of an :class:`~cpabmm.models.ImageAnimator` as modules with
tensor inputs and outputs, the form an exporter traces.

An animation runs four graphs (``STAGES``):

* ``keypoints``: image ``[B, 3, H, W]`` -> the keypoint entries
  (``value`` ``[B, K, 2]``, and ``jacobian`` ``[B, K, 2, 2]`` for FOMM);
* ``dense_motion``: source image and both keypoint sets -> ``flow``
  ``[B, h, w, 2]`` and the occlusion masks. A motion model whose fit traces
  (``onnx_exportable``: affine, TPS) is fitted inside the graph; otherwise
  (CPAB) the graph takes the motion model's transformations on the working
  grid as one more input, ``warps`` ``[B, N, h, w, 2]``, computed in PyTorch;
* ``generator``: source image, flow and masks -> ``prediction``;
* ``avd`` (models with an AVD network): source and driving keypoint values
  -> the animated keypoint values.

Each module's ``forward`` takes its inputs as one argument list, so that an
exporter's per-input shape specification is a flat tuple.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

from torch import Tensor, nn

STAGES = ('keypoints', 'dense_motion', 'generator', 'avd')


def keypoint_inputs(prefix: str, entries: Sequence[str]) -> List[str]:
    """Graph input names of one keypoint set, e.g. ``kp_source_value``."""
    return [f'{prefix}_{entry}' for entry in entries]


class KeypointGraph(nn.Module):
    """``image -> (value[, jacobian])``, in the order of ``entries``."""

    def __init__(self, animator: nn.Module, entries: Sequence[str]):
        super().__init__()
        self.detector = animator.keypoint_detector
        self.entries = tuple(entries)

    def forward(self, *inputs: Tensor) -> Tuple[Tensor, ...]:
        keypoints = self.detector(inputs[0])
        return tuple(keypoints[entry] for entry in self.entries)


class DenseMotionGraph(nn.Module):
    """``(source, *kp_source, *kp_driving[, warps]) -> (flow, *occlusion)``.

    With ``fit_in_graph`` the keypoint sets carry every entry of
    ``entries`` and the motion model is fitted here; without it they carry
    only ``value`` and the motion model's ``warps`` come last.
    """

    def __init__(self, animator: nn.Module, entries: Sequence[str], fit_in_graph: bool):
        super().__init__()
        self.dense_motion = animator.dense_motion
        self.motion = animator.motion
        self.entries = tuple(entries) if fit_in_graph else ('value',)
        self.fit_in_graph = fit_in_graph

    def forward(self, *inputs: Tensor) -> Tuple[Tensor, ...]:
        source, tensors, n = inputs[0], inputs[1:], len(self.entries)
        kp_source = dict(zip(self.entries, tensors[:n]))
        kp_driving = dict(zip(self.entries, tensors[n:2 * n]))
        if self.fit_in_graph:
            out = self.dense_motion(source, kp_source, kp_driving, self.motion,
                                    self.motion.fit(kp_source, kp_driving))
        else:
            out = self.dense_motion.from_warps(source, kp_source, kp_driving, tensors[2 * n])
        return (out['flow'], *out['occlusion'])


class GeneratorGraph(nn.Module):
    """``(source, flow, *occlusion) -> prediction``."""

    def __init__(self, animator: nn.Module):
        super().__init__()
        self.generator = animator.generator

    def forward(self, *inputs: Tensor) -> Tensor:
        source, flow, *occlusion = inputs
        return self.generator(source, flow, occlusion)['prediction']


class AVDGraph(nn.Module):
    """``(kp_source_value, kp_driving_value) -> value``."""

    def __init__(self, animator: nn.Module):
        super().__init__()
        self.avd = animator.avd

    def forward(self, *inputs: Tensor) -> Tensor:
        kp_source, kp_driving = inputs
        return self.avd({'value': kp_source}, {'value': kp_driving})['value']
