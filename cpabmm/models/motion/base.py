"""The interface every motion model implements.

A motion model turns corresponding keypoints of the source and the driving
frame into ``num_transforms`` transformations, each a *backward* map: for a
location ``z`` of the driving frame it gives the location of the source
frame to sample, ready for ``grid_sample(..., align_corners=True)``.
Keypoints are dicts ``{'value': [B, K, 2], 'jacobian': [B, K, 2, 2]}`` in
[-1, 1], x first (``'jacobian'`` only where a detector provides it).

Nothing outside ``cpabmm.models.motion`` needs to know which family a model
belongs to: the dense motion network sizes itself from ``num_transforms``
(it adds the background transformation itself) and the animator checks
``num_keypoints`` against the keypoint detector.
"""
from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Dict, Optional, Sequence

from torch import Tensor, nn

from cpabmm.ops.cpab.checks import bad_rows, has_nonfinite

Keypoints = Dict[str, Tensor]
MotionParams = Dict[str, Tensor]


class BaseMotion(nn.Module, metaclass=ABCMeta):
    """Keypoints to backward transformations.

    Subclasses set ``num_keypoints`` and ``num_transforms`` in ``__init__``
    and implement :meth:`fit` and :meth:`warp_points`.
    """

    #: keypoints per frame that :meth:`fit` expects
    num_keypoints: int
    #: transformations N produced, not counting the background
    num_transforms: int
    #: how :meth:`fit` reads the keypoints: ``'per_keypoint'`` (one
    #: transformation per keypoint, from its Jacobian where given: N = K) or
    #: ``'groups'`` (consecutive groups of ``points_per_group`` keypoints, one
    #: transformation per group); None: neither. A config's keypoint detector
    #: and dense motion network are built for one arrangement, so
    #: ``--cfg-options model.motion.type=...`` swaps only between motion models
    #: of the same one (:mod:`cpabmm.engine.motion_swap`).
    keypoint_grouping: Optional[str] = None
    #: whether :meth:`fit` and :meth:`warp` trace into an ONNX graph
    #: (:mod:`cpabmm.deploy`); otherwise an export keeps them in PyTorch and
    #: the exported dense motion network takes their transformations as input
    onnx_exportable: bool = False

    @abstractmethod
    def fit(self, kp_source: Keypoints, kp_driving: Keypoints) -> MotionParams:
        """Parameters of the transformations that map the driving keypoints
        onto the source keypoints (a dict of tensors, batch first)."""

    @abstractmethod
    def warp_points(self, params: MotionParams, points: Tensor) -> Tensor:
        """Map points of the driving frame to the source frame.

        Args:
            params: output of :meth:`fit` for a batch of B.
            points: ``[B, P, 2]``, or ``[P, 2]`` shared by the batch.
        Returns:
            ``[B, N, P, 2]``, one set per transformation.
        """

    def warp(self, params: MotionParams, grid: Tensor) -> Tensor:
        """Apply every transformation to a shared ``[h, w, 2]`` grid (or a
        per-sample ``[B, h, w, 2]`` one); returns ``[B, N, h, w, 2]``."""
        h, w = grid.shape[-3:-1]
        points = grid.reshape(*grid.shape[:-3], h * w, 2)
        warped = self.warp_points(params, points)
        return warped.view(*warped.shape[:2], h, w, 2)

    def check_keypoints(self, kp_source: Keypoints, kp_driving: Keypoints,
                        finite: Sequence[str] = ('value',)) -> None:
        """Raise a ValueError unless both keypoint sets are ``[B, K, 2]`` with
        ``K = num_keypoints`` and the same batch size, and their ``finite``
        entries (where present) hold no nan or inf. Values are checked on CPU
        tensors, on other devices only with ``CPABMM_CHECK_FINITE=1`` (a check
        there synchronises, see :mod:`cpabmm.ops.cpab.checks`)."""
        for name, kp in (('kp_source', kp_source), ('kp_driving', kp_driving)):
            value = kp.get('value') if isinstance(kp, dict) else None
            if value is None:
                raise ValueError(f"{name} must be a dict with a 'value' tensor")
            if value.dim() != 3 or value.shape[1:] != (self.num_keypoints, 2):
                raise ValueError(
                    f'{type(self).__name__} needs {name} of shape [B, '
                    f'{self.num_keypoints}, 2], got {list(value.shape)}')
        if kp_source['value'].shape[0] != kp_driving['value'].shape[0]:
            raise ValueError('kp_source and kp_driving have different batch sizes: '
                             f"{kp_source['value'].shape[0]} and {kp_driving['value'].shape[0]}")
        for name, kp in (('kp_source', kp_source), ('kp_driving', kp_driving)):
            for entry in finite:
                if entry in kp and has_nonfinite(kp[entry]):
                    raise ValueError(
                        f"{type(self).__name__}.fit: {name}['{entry}'] has non-finite values "
                        f'(nan or inf) in samples {bad_rows(kp[entry])}: the keypoint '
                        'detector gave them, or the images hold nan/inf')

    def extra_repr(self) -> str:
        return f'num_keypoints={self.num_keypoints}, num_transforms={self.num_transforms}'
