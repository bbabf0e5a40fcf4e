"""CPABMM's motion model: K partial CPAB transformations and one global."""
from __future__ import annotations

import logging
import math
from typing import Any, Dict, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from torch import Tensor

from cpabmm.ops.cpab import CPAB, checks
from cpabmm.registry import MODELS
from .base import BaseMotion, Keypoints, MotionParams
from .cpab_solver import (COMPILED_DTYPES, CompiledSystems, SolverTensors, TorchSystems,
                          WeightRule, fit_adam, fit_fast)

SOLVERS = ('fast', 'adam')


class _Tessellated(torch.nn.Module):
    """One CPAB tessellation with what the solvers need for it: the fast
    solver's penalty matrix ``M = Sigma^-1 + ridge I`` (``Sigma`` the
    smoothness prior's covariance), weight rule and number of steps; the
    Adam loop's rotation into libcpab's kind of basis (``with_rotation``)."""

    def __init__(self, tess_size: Tuple[int, int], zero_boundary: bool,
                 volume_preservation: bool, backend: str, rule: WeightRule,
                 ridge: float, steps: int, robust: float, with_rotation: bool):
        super().__init__()
        self.cpab = CPAB(tess_size=tess_size, zero_boundary=zero_boundary,
                         volume_preservation=volume_preservation, backend=backend)
        self.rule = rule
        self.steps = steps
        self.robust = robust
        precision = torch.linalg.inv(self.cpab.covariance())
        precision = (precision + precision.T) / 2
        identity = torch.eye(len(precision), dtype=precision.dtype, device=precision.device)
        # Follow .to(device) but are not saved in checkpoints (derived data).
        self.register_buffer('precision', precision, persistent=False)
        penalty = precision + ridge * identity
        self.register_buffer('inverse_penalty', torch.linalg.inv(penalty), persistent=False)
        self.register_buffer('rotation', self.cpab.svd_rotation() if with_rotation else None,
                             persistent=False)
        self._solver_tensors: Dict[Tuple[torch.dtype, torch.device], SolverTensors] = {}

    @property
    def dim(self) -> int:
        return self.cpab.dim

    def _apply(self, fn, recurse=True):
        """Module moves drop the fast solver's tensors (rebuilt from the
        moved buffers at the next fit)."""
        super()._apply(fn, recurse)
        self._solver_tensors = {}
        return self

    def solver_tensors(self, dtype: torch.dtype, device: torch.device) -> SolverTensors:
        """The fast solver's constant tensors in ``dtype`` on ``device``
        (built at the first fit there, from the basis and ``inverse_penalty``)."""
        key = (dtype, torch.device(device))
        if key not in self._solver_tensors:
            compiled = (CompiledSystems(self.cpab, dtype, device)
                        if dtype in COMPILED_DTYPES and self.cpab.runs_compiled(device)
                        else None)
            self._solver_tensors[key] = SolverTensors(
                self.cpab.basis_as(dtype, device), self.cpab.nc,
                self.inverse_penalty.to(dtype=dtype, device=device), self.rule, compiled)
        return self._solver_tensors[key]

    def transform(self, theta: Tensor, points: Tensor) -> Tensor:
        """The CPAB op of the warps and the Adam loop without its input
        checks: its output is checked, so non-finite thetas or points still
        raise the op's errors (:meth:`~cpabmm.ops.cpab.CPAB.transform_unchecked`)."""
        return self.cpab.transform_unchecked(theta, points)

    def _fit_transform(self, theta: Tensor, points: Tensor) -> Tensor:
        """The CPAB op within the fast fit: its thetas are bounded and its
        keypoints finite, so nothing is checked."""
        return self.cpab.transform_unchecked(theta, points, watch=False)

    def fit_fast(self, control: Tensor, target: Tensor) -> Tensor:
        """The fast solver's theta; its linearised systems come from the
        compiled kernels where the op runs them and no gradient is wanted,
        else from PyTorch ops (see :class:`CompiledSystems`)."""
        tensors = self.solver_tensors(control.dtype, control.device)
        wants_grad = torch.is_grad_enabled() and (control.requires_grad or target.requires_grad)
        systems = (tensors.compiled if tensors.compiled is not None and not wants_grad
                   else TorchSystems(tensors.field, self._fit_transform))
        return fit_fast(control, target, systems, tensors, self.rule, self.steps, self.robust)

    def fit_adam(self, control: Tensor, target: Tensor, iterations: int, lr: float) -> Tensor:
        """The published loop, in libcpab's kind of basis (see :func:`fit_adam`)."""
        return fit_adam(control, target, self.transform, self.dim, iterations, lr,
                        rotation=self.rotation.to(control))


def _pair(value: Any, name: str) -> Tuple[Any, Any]:
    """``(partial, global)`` from one value for both or a pair."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f'{name} must be one value or a (partial, global) pair, '
                             f'got {value!r}')
        return tuple(value)
    return value, value


def _weight_range(weights: Union[float, Sequence[float]]) -> Tuple[float, float]:
    """``(lightest, heaviest)`` from a fixed weight or an ascending pair."""
    if isinstance(weights, (int, float)):
        lightest = heaviest = float(weights)
    else:
        lightest, heaviest = (float(w) for w in weights)
    if not 0 < lightest <= heaviest:
        raise ValueError('prior weights must be positive, as a weight or an ascending '
                         f'(lightest, heaviest) pair, got {weights!r}')
    return lightest, heaviest


@MODELS.register_module()
class CPABMotion(BaseMotion):
    """Continuous piecewise-affine (CPAB) transformations from keypoints.

    The keypoints form ``num_groups`` consecutive groups of
    ``points_per_group``; each group gets a partial CPAB transformation on
    ``partial_tess``, and (with ``use_global``) all keypoints together a
    global one on ``global_tess``. Keypoints in [-1, 1] enter the CPAB domain
    [0, 1]^2 as ``(kp + 1) / 2``. Each transformation maps driving keypoints
    onto source keypoints, i.e. it is a backward warp.

    Args:
        num_groups: K, the number of partial transformations.
        points_per_group: keypoints per partial transformation.
        partial_tess: cells of the partial transformations' tessellation.
        global_tess: cells of the global transformation's tessellation.
        use_global: add the global transformation (N = K + 1).
        zero_boundary: zero normal velocity on the domain boundary.
        volume_preservation: divergence-free fields.
        solver: ``'fast'`` (regularised Gauss-Newton, differentiable) or
            ``'adam'`` (the published per-forward Adam loop, run in a dense
            SVD basis as libcpab's, see :func:`fit_adam`).
        detach_keypoints: fit on detached keypoints, as published (the
            default; always so for ``'adam'``): the keypoint detector learns
            from the dense motion network's heatmaps and the equivariance
            loss, not through the CPAB warps. ``False`` lets gradients flow
            through the fast solver into the keypoints.
        iterations: Gauss-Newton steps of the fast solver (one int, or
            ``(partial, global)``).
        prior_weights: weights of the fast solver's penalty
            ``theta' (Sigma^-1 + ridge I) theta`` (``Sigma``: the CPAB
            smoothness prior's covariance), ``(partial, global)``; each a
            fixed weight or a ``(lightest, heaviest)`` range within which
            every problem picks one by the rule of ``fit_tolerance``,
            ``fit_slack`` and ``energy_budget``. With the defaults the fast
            solver's keypoint errors are at most the published loop's on every
            keypoint distribution of ``tools/benchmark.py motion``, and its
            thetas are smaller on the fixture's keypoints (docs/motion.md).
        ridge: identity part of the penalty (one value or a pair).
        fit_tolerance: a problem picks the heaviest weight whose linearised
            RMS residual is at most this fraction of its RMS motion, or,
            where no weight of the range reaches that,
        fit_slack: at most this factor times the least residual of the range;
        energy_budget: but never a weight so light that the penalty energy
            exceeds this budget times the RMS motion (domain units) to the
            power 1.5; one value or a pair.
        robust_scale: the fast solver's steps minimise the mean Euclidean
            keypoint error (reweighted least squares, points closer than this
            fraction of the RMS motion count as fitted); 0 for least squares.
        adam_iterations: Adam steps (partial, global) of ``'adam'``; the
            published values are (100, 150) and (200, 300) on TaiChiHD.
        adam_lr: Adam's learning rate.
        backend: CPAB op backend (``'auto'``, ``'cpp'``, ``'cuda'``, ``'torch'``).
    """

    keypoint_grouping = 'groups'

    def __init__(self,
                 num_groups: int = 10,
                 points_per_group: int = 5,
                 partial_tess: Sequence[int] = (4, 4),
                 global_tess: Sequence[int] = (6, 6),
                 use_global: bool = True,
                 zero_boundary: bool = False,
                 volume_preservation: bool = False,
                 solver: str = 'fast',
                 detach_keypoints: bool = True,
                 iterations: Union[int, Sequence[int]] = (1, 2),
                 prior_weights: Sequence[Any] = (2.5e-6, (1e-7, 1e-3)),
                 ridge: Union[float, Sequence[float]] = 10.0,
                 fit_tolerance: Union[float, Sequence[float]] = 0.03,
                 fit_slack: Union[float, Sequence[float]] = (1.1, 1.2),
                 energy_budget: Union[float, Sequence[float]] = (math.inf, 7500.0),
                 robust_scale: float = 0.05,
                 adam_iterations: Sequence[int] = (100, 150),
                 adam_lr: float = 0.01,
                 backend: str = 'auto'):
        super().__init__()
        if solver not in SOLVERS:
            raise ValueError(f'CPABMotion solver must be one of {SOLVERS}, got {solver!r}')
        self.num_groups = num_groups
        self.points_per_group = points_per_group
        self.num_keypoints = num_groups * points_per_group
        self.num_transforms = num_groups + int(use_global)
        self.use_global = use_global
        self.solver = solver
        self.detach_keypoints = detach_keypoints or solver == 'adam'
        self.adam_iterations = tuple(int(i) for i in adam_iterations)
        self.adam_lr = adam_lr
        flags = dict(zero_boundary=zero_boundary, volume_preservation=volume_preservation,
                     backend=backend)
        settings = zip((partial_tess, global_tess), _pair(iterations, 'iterations'),
                       _pair(prior_weights, 'prior_weights'), _pair(ridge, 'ridge'),
                       _pair(fit_tolerance, 'fit_tolerance'), _pair(fit_slack, 'fit_slack'),
                       _pair(energy_budget, 'energy_budget'))
        tessellations = [
            _Tessellated(tuple(tess), rule=WeightRule(*_weight_range(weights), float(tolerance),
                                                      float(slack), float(budget)),
                         ridge=float(identity), steps=int(steps), robust=robust_scale,
                         with_rotation=solver == 'adam', **flags)
            for tess, steps, weights, identity, tolerance, slack, budget
            in list(settings)[:1 + int(use_global)]]
        self.partial = tessellations[0]
        self.global_ = tessellations[1] if use_global else None
        self._warned_degenerate = False

    # -- fitting ---------------------------------------------------------
    def fit(self, kp_source: Keypoints, kp_driving: Keypoints) -> MotionParams:
        """Thetas of the partial (and global) transformations.

        Non-finite keypoints raise a ``ValueError`` naming the input (checked
        on CPU tensors, on GPUs only with ``CPABMM_CHECK_FINITE=1``: a check
        there synchronises). A group whose keypoints lie far outside the
        frame (``|(kp + 1) / 2| > 4``) or are non-finite but unchecked, or
        whose fit diverges, gets the identity transformation, reported once
        per model (where values are checked: on GPUs the fit never waits for
        the device, so the report needs ``CPABMM_CHECK_FINITE=1``). Coinciding
        or collinear keypoints need nothing special: the prior penalty makes
        every problem well posed. The thetas stay far below the norms at which
        the CPAB op overflows (about 1e3, see
        :class:`~cpabmm.ops.cpab.CPABOverflowWarning`): the fast solver's
        steps are at most 4 long, so ``|theta| <= 4 (1 + iterations)``; Adam
        moves each entry by about ``adam_lr`` per step.
        """
        self.check_keypoints(kp_source, kp_driving)
        # [2, B, num_keypoints, 2]: driving (control) and source (target)
        # keypoints in CPAB domain coordinates.
        pairs = (torch.stack([kp_driving['value'], kp_source['value']]) + 1) / 2
        if self.detach_keypoints and pairs.requires_grad:
            pairs = pairs.detach()
        batch = pairs.shape[1]
        groups = pairs.view(2, batch * self.num_groups, self.points_per_group, 2)
        valid = self._valid_groups(groups)                              # [1, B K, 1, 1]
        params = {'theta_partial': self._fit(
            self.partial, groups, valid, self.adam_iterations[0]).view(batch, self.num_groups, -1)}
        if self.global_ is not None:
            valid = valid.view(1, batch, self.num_groups, 1).all(dim=2, keepdim=True)
            params['theta_global'] = self._fit(self.global_, pairs, valid,
                                               self.adam_iterations[1])
        return params

    def _fit(self, tess: _Tessellated, pairs: Tensor, valid: Tensor,
             adam_iterations: int) -> Tensor:
        """Thetas ``[G, d]`` of ``pairs`` ``[2, G, n, 2]`` (control, target);
        the groups that are not ``valid`` (``[1, G, 1, 1]``) are fitted on
        keypoints at the centre and get the identity."""
        control, target = torch.where(valid, pairs, 0.5).unbind(0)
        if self.solver == 'adam':
            theta = tess.fit_adam(control, target, adam_iterations, self.adam_lr)
        else:
            theta = tess.fit_fast(control, target)
        good = valid.view(-1, 1) & torch.isfinite(theta).all(dim=1, keepdim=True)
        # The report needs the mask on the host: only where values are
        # checked (the CPU, see cpabmm.ops.cpab.checks), so that the fit
        # never synchronises a GPU; the identity is substituted everywhere.
        if not self._warned_degenerate and checks.checked(good) and not bool(good.all()):
            self._warn_degenerate(int((~good).sum()), control.shape[0])
        return torch.where(good, theta, 0.0)

    @staticmethod
    def _valid_groups(pairs: Tensor, limit: float = 4.0) -> Tensor:
        """``[1, G, 1, 1]``: the groups of ``pairs`` ``[2, G, n, 2]`` whose
        keypoints are finite and not absurdly far away (|kp| <= 2 limit - 1
        in [-1, 1] units; nan and inf fail the comparison too)."""
        return (pairs.abs() <= limit).all(dim=(0, 2, 3), keepdim=True)

    def _warn_degenerate(self, count: int, total: int) -> None:
        if self._warned_degenerate:
            return
        self._warned_degenerate = True
        print_log(
            f'CPABMotion: {count} of {total} keypoint groups were degenerate (non-finite, '
            'far outside the frame, or the fit diverged); they use the identity '
            'transformation. Reported once per model.',
            logger='current', level=logging.WARNING)

    # -- warping ---------------------------------------------------------
    def warp_points(self, params: MotionParams, points: Tensor) -> Tensor:
        theta = params['theta_partial']
        batch, K = theta.shape[:2]
        domain = (points + 1) / 2
        warped = [self._transform(self.partial, theta.reshape(batch * K, -1), domain, K)
                  .view(batch, K, -1, 2)]
        if self.global_ is not None:
            warped.append(self._transform(self.global_, params['theta_global'], domain, 1)
                          .view(batch, 1, -1, 2))
        return torch.cat(warped, dim=1) * 2 - 1

    @staticmethod
    def _transform(tess: _Tessellated, theta: Tensor, points: Tensor, per_sample: int) -> Tensor:
        """Transform shared ``[P, 2]`` points, or per-sample ``[B, P, 2]``
        points repeated for the ``per_sample`` transformations of a sample."""
        if points.dim() == 3:
            points = points.repeat_interleave(per_sample, dim=0)
        return tess.transform(theta, points)

    def extra_repr(self) -> str:
        return (f'{super().extra_repr()}, solver={self.solver!r}, '
                f'detach_keypoints={self.detach_keypoints}')
