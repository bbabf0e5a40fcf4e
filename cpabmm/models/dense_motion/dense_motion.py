"""The dense motion network, generic over the motion model."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cpabmm.registry import MODELS
from ..layers import (AntiAliasDownsample, Hourglass, UpBlock2d, apply_projective,
                      coordinate_grid, in_float32, keypoint_heatmaps, num_halvings)
from ..motion.base import BaseMotion, Keypoints, MotionParams

INPUT_LAYOUTS = ('grouped', 'interleaved')


def dropout_softmax(logits: Tensor, p: float) -> Tensor:
    """Softmax over dim 1 that drops each transformation but the first
    (background) with probability ``p``, per sample (TPSMM Eq. 7-8).

    The published version also divides the logits by (1 - p) *after* taking
    their exponential, which leaves the result unchanged; trained checkpoints
    depend on the behaviour actually run, so no rescaling is applied here.
    """
    batch, n = logits.shape[:2]
    keep = (torch.rand(batch, n, device=logits.device) < (1 - p)).to(logits.dtype)
    keep[:, 0] = 1
    exp = (logits - logits.max(dim=1, keepdim=True).values).exp()
    exp = exp * keep[:, :, None, None]
    return exp / (exp.sum(dim=1, keepdim=True) + 1e-6)


@MODELS.register_module()
class DenseMotionNetwork(nn.Module):
    """Contribution maps, dense flow and occlusion masks from sparse motions.

    At ``scale_factor`` of the input resolution, the source is warped by the
    background transformation (identity, or an affine ``bg_affine``) and by
    each of the motion model's N transformations. An hourglass sees the
    keypoint heatmap differences ``G(kp_d) - G(kp_s)`` (plus a zero channel
    for the background) and the N + 1 warped sources, and predicts N + 1
    contribution maps; their softmax weights the transformations into one
    dense backward flow. Occlusion masks come from the hourglass too.

    Args:
        num_transforms: N of the motion model (the animator fills it in).
        num_keypoints: keypoints per frame, one heatmap each (filled in too).
        in_channels: image channels.
        block_expansion, max_features, num_blocks: hourglass size.
        scale_factor: working resolution relative to the input (1/2^n).
        keypoint_variance: variance of the keypoint Gaussians.
        norm: 'instance' (TPSMM) or 'batch' (FOMM).
        input_layout: 'grouped' (TPSMM: all heatmaps, then all warped
            sources) or 'interleaved' (FOMM: [heatmap, warped source] per
            transformation; needs one keypoint per transformation).
        num_occlusion_masks: 0 (none), 1 (one mask at the working
            resolution, FOMM) or M > 1 (TPSMM: M masks, coarsest first,
            ending at the input resolution; the last log2(1/scale_factor) of
            them come from up-sampling blocks, the others from the decoder).
    """

    def __init__(self, num_transforms: int, num_keypoints: int, in_channels: int = 3,
                 block_expansion: int = 64, max_features: int = 1024, num_blocks: int = 5,
                 scale_factor: float = 0.25, keypoint_variance: float = 0.01,
                 norm: str = 'instance', input_layout: str = 'grouped',
                 num_occlusion_masks: int = 4):
        super().__init__()
        if input_layout not in INPUT_LAYOUTS:
            raise ValueError(f'input_layout must be one of {INPUT_LAYOUTS}, got {input_layout!r}')
        if input_layout == 'interleaved' and num_keypoints != num_transforms:
            raise ValueError("input_layout='interleaved' pairs one heatmap with each "
                             f'transformation, but num_keypoints={num_keypoints} and '
                             f'num_transforms={num_transforms}; use the grouped layout')
        self.num_transforms = num_transforms
        self.num_keypoints = num_keypoints
        self.scale_factor = scale_factor
        self.keypoint_variance = keypoint_variance
        self.input_layout = input_layout
        self.num_blocks = num_blocks
        self.downsample = AntiAliasDownsample(in_channels, scale_factor)

        hourglass_in = (num_transforms + 1) * in_channels + num_keypoints + 1
        self.hourglass = Hourglass(hourglass_in, block_expansion, num_blocks, max_features, norm)
        channels = self.hourglass.out_channels
        self.contribution_head = nn.Conv2d(channels[-1], num_transforms + 1, 7, padding=3)

        self.num_occlusion_masks = num_occlusion_masks
        self.occlusion_up_blocks = nn.ModuleList()
        mask_channels = [channels[-1]] if num_occlusion_masks == 1 else []
        if num_occlusion_masks > 1:
            num_up = num_halvings(scale_factor)
            num_from_decoder = num_occlusion_masks - num_up
            if not 1 <= num_from_decoder <= num_blocks:
                raise ValueError(
                    f'num_occlusion_masks={num_occlusion_masks} is out of range: with '
                    f'scale_factor={scale_factor} and num_blocks={num_blocks} use 0, 1 or '
                    f'{num_up + 1} to {num_up + num_blocks}')
            mask_channels = channels[len(channels) - num_from_decoder:]
            width = channels[-1]
            for _ in range(num_up):
                self.occlusion_up_blocks.append(UpBlock2d(width, width // 2, norm))
                width //= 2
                mask_channels.append(width)
        self.occlusion_heads = nn.ModuleList(
            nn.Conv2d(c, 1, 7, padding=3) for c in mask_channels)

    @property
    def size_multiple(self) -> int:
        """Image sides must be multiples of this."""
        return 2 ** (num_halvings(self.scale_factor) + self.num_blocks)

    def working_size(self, size: Sequence[int]) -> Tuple[int, int]:
        """``(h, w)`` of the working resolution for ``(H, W)`` input frames."""
        return tuple(int(side * self.scale_factor) for side in size)

    def _working_grid(self, source: Tensor) -> Tensor:
        """The identity grid of the working resolution, ``[h, w, 2]``."""
        return coordinate_grid(self.working_size(source.shape[-2:]), source.dtype,
                               source.device)

    def motion_warps(self, source: Tensor, motion: BaseMotion, motion_params: MotionParams,
                     grid: Optional[Tensor] = None) -> Tensor:
        """The motion model's N backward transformations on the working
        resolution's pixel grid (``grid``, built when not given),
        ``[B, N, h, w, 2]``."""
        if motion.num_transforms != self.num_transforms:
            raise ValueError(f'the motion model gives {motion.num_transforms} transformations '
                             f'but this network was built for {self.num_transforms}')
        grid = self._working_grid(source) if grid is None else grid
        return in_float32(motion.warp, motion_params, grid)

    def _hourglass_input(self, source: Tensor, kp_source: Keypoints, kp_driving: Keypoints,
                         deformed: Tensor) -> Tensor:
        batch, _, h, w = source.shape
        heatmaps = (keypoint_heatmaps(kp_driving['value'], (h, w), self.keypoint_variance)
                    - keypoint_heatmaps(kp_source['value'], (h, w), self.keypoint_variance))
        heatmaps = torch.cat([heatmaps.new_zeros(batch, 1, h, w), heatmaps], dim=1)
        if self.input_layout == 'interleaved':
            return torch.cat([heatmaps.unsqueeze(2), deformed], dim=2).view(batch, -1, h, w)
        return torch.cat([heatmaps, deformed.view(batch, -1, h, w)], dim=1)

    def _occlusion_masks(self, features: List[Tensor]) -> List[Tensor]:
        if self.num_occlusion_masks == 0:
            return []
        num_from_decoder = len(self.occlusion_heads) - len(self.occlusion_up_blocks)
        heads = iter(self.occlusion_heads)
        masks = [torch.sigmoid(next(heads)(f)) for f in features[-num_from_decoder:]]
        out = features[-1]
        for block in self.occlusion_up_blocks:
            out = block(out)
            masks.append(torch.sigmoid(next(heads)(out)))
        return masks

    def forward(self, source: Tensor, kp_source: Keypoints, kp_driving: Keypoints,
                motion: BaseMotion, motion_params: MotionParams,
                bg_affine: Optional[Tensor] = None,
                dropout_p: Optional[float] = None) -> Dict[str, object]:
        """Predict the dense motion.

        Args:
            source: ``[B, C, H, W]`` source image.
            kp_source, kp_driving: keypoint dicts in [-1, 1].
            motion: the motion model and ``motion_params`` its ``fit`` output.
            bg_affine: ``[B, 3, 3]`` background map, identity when None.
            dropout_p: transformation dropout probability; None for the
                plain softmax (inference), a float for the dropout softmax.
        Returns:
            dict with ``sparse_motions`` [B, N+1, h, w, 2], ``deformed_source``
            [B, N+1, C, h, w], ``contribution_maps`` [B, N+1, h, w], ``flow``
            [B, h, w, 2] and ``occlusion`` (a list of [B, 1, h_i, w_i]).
        """
        grid = self._working_grid(source)
        warps = self.motion_warps(source, motion, motion_params, grid)
        return self.from_warps(source, kp_source, kp_driving, warps, bg_affine, dropout_p, grid)

    def from_warps(self, source: Tensor, kp_source: Keypoints, kp_driving: Keypoints,
                   warps: Tensor, bg_affine: Optional[Tensor] = None,
                   dropout_p: Optional[float] = None,
                   grid: Optional[Tensor] = None) -> Dict[str, object]:
        """:meth:`forward` given the motion model's transformations ``warps``
        (:meth:`motion_warps`, e.g. computed outside an exported graph) and
        optionally the working resolution's identity ``grid`` they used."""
        grid = self._working_grid(source) if grid is None else grid
        source = self.downsample(source)
        batch, channels, h, w = source.shape
        background = grid.expand(batch, 1, h, w, 2)
        if bg_affine is not None:
            background = apply_projective(bg_affine, background)
        sparse = torch.cat([background, warps], dim=1)
        n = sparse.shape[1]
        repeated = source.unsqueeze(1).expand(batch, n, channels, h, w)
        deformed = F.grid_sample(repeated.reshape(batch * n, channels, h, w),
                                 sparse.reshape(batch * n, h, w, 2), align_corners=True)
        deformed = deformed.view(batch, n, channels, h, w)

        features = self.hourglass(self._hourglass_input(source, kp_source, kp_driving, deformed))
        logits = self.contribution_head(features[-1])
        if dropout_p is None:
            contribution = F.softmax(logits, dim=1)
        else:
            contribution = dropout_softmax(logits, dropout_p)
        flow = (sparse * contribution.unsqueeze(-1)).sum(dim=1)
        return {
            'sparse_motions': sparse,
            'deformed_source': deformed,
            'contribution_maps': contribution,
            'flow': flow,
            'occlusion': self._occlusion_masks(features),
        }
