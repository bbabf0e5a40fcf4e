"""The DINO ViT (ViT-B/8 by default) with the official checkpoint's key names.

Key layout of ``dino_vitbase8_pretrain.pth``: ``cls_token``, ``pos_embed``
(trained at 224x224, i.e. 28x28 patches + CLS), ``patch_embed.proj.*``,
``blocks.N.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}.*`` and
``norm.*``; LayerNorms use eps 1e-6 and the qkv projection has a bias.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cpabmm.checkpoint import read_state_dict
from cpabmm.registry import MODELS
from .frozen import FrozenBackbone, build_context, load_exact, resolve_checkpoint

DINO_VITB8_FILENAME = 'dino_vitbase8_pretrain.pth'
DINO_VITB8_URL = ('https://dl.fbaipublicfiles.com/dino/dino_vitbase8_pretrain/'
                  + DINO_VITB8_FILENAME)


class PatchEmbed(nn.Module):
    """Non-overlapping ``patch_size`` patches -> ``embed_dim`` tokens."""

    def __init__(self, patch_size: int, embed_dim: int, in_channels: int = 3):
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_channels, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, images: Tensor) -> Tensor:
        return self.proj(images).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """Multi-head self-attention with a joint qkv projection."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def keys(self, tokens: Tensor) -> Tensor:
        """The keys of all heads, concatenated: ``[B, T, dim]`` (head-major)."""
        dim = tokens.shape[-1]
        return F.linear(tokens, self.qkv.weight[dim:2 * dim], self.qkv.bias[dim:2 * dim])

    def forward(self, tokens: Tensor) -> Tensor:
        batch, length, dim = tokens.shape
        qkv = self.qkv(tokens).view(batch, length, 3, self.num_heads, dim // self.num_heads)
        query, key, value = qkv.permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(query, key, value)
        return self.proj(out.transpose(1, 2).reshape(batch, length, dim))


class MLP(nn.Module):
    """Two linear layers with a GELU between them."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MLP(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def interpolate_position_embedding(pos_embed: Tensor, grid_h: int, grid_w: int) -> Tensor:
    """Resize ``[1, 1 + N^2, D]`` position embeddings to a ``grid_h x grid_w`` patch grid.

    Bicubic, with DINO's scale factor ``(n + 0.1) / N`` per side (so the
    published models see the embeddings they were evaluated with); the CLS
    embedding is kept.
    """
    side = math.isqrt(pos_embed.shape[1] - 1)
    if side * side != pos_embed.shape[1] - 1:
        raise ValueError('pos_embed must hold a square grid plus CLS, got '
                         f'{pos_embed.shape[1]} tokens')
    if (grid_h, grid_w) == (side, side):
        return pos_embed
    dim = pos_embed.shape[-1]
    grid = pos_embed[:, 1:].reshape(1, side, side, dim).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, scale_factor=((grid_h + 0.1) / side, (grid_w + 0.1) / side),
                         mode='bicubic', align_corners=False)
    if grid.shape[-2:] != (grid_h, grid_w):
        raise RuntimeError(f'position embeddings resized to {tuple(grid.shape[-2:])}, '
                           f'expected {(grid_h, grid_w)}')
    grid = grid.permute(0, 2, 3, 1).reshape(1, grid_h * grid_w, dim)
    return torch.cat([pos_embed[:, :1], grid], dim=1)


@MODELS.register_module()
class DINOViT(FrozenBackbone):
    """Frozen DINO vision transformer; :meth:`forward` returns the keys of the
    last block's self-attention (all heads concatenated, CLS token first).

    Args:
        pretrained: load the official DINO weights; ``False`` gives random
            weights (DINO's initialisation) and is meant for tests only.
        checkpoint: path of the official backbone file (default: the torch
            hub cache's ``dino_vitbase8_pretrain.pth``).
        patch_size, embed_dim, depth, num_heads, mlp_ratio: the architecture
            (defaults: ViT-B/8).
        train_size: the square input size the position embeddings belong to.
    """

    def __init__(self, pretrained: bool = True, checkpoint: Optional[str] = None,
                 patch_size: int = 8, embed_dim: int = 768, depth: int = 12,
                 num_heads: int = 12, mlp_ratio: float = 4.0, train_size: int = 224):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f'embed_dim {embed_dim} is not divisible by num_heads {num_heads}')
        path = resolve_checkpoint(
            checkpoint, DINO_VITB8_FILENAME, 'DINO ViT',
            f'download {DINO_VITB8_URL} into that folder, or pass checkpoint=PATH'
        ) if pretrained else None
        with build_context(pretrained):
            self.patch_embed = PatchEmbed(patch_size, embed_dim)
            self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
            self.pos_embed = nn.Parameter(
                torch.zeros(1, (train_size // patch_size) ** 2 + 1, embed_dim))
            self.blocks = nn.ModuleList(
                Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth))
            self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        if path:
            load_exact(self, read_state_dict(path), path, 'DINO ViT (official backbone layout)')
        else:
            self._init_random()
        self.freeze()

    def _init_random(self) -> None:
        """DINO's initialisation: truncated normal (std 0.02), zero biases."""
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)

    def tokens(self, images: Tensor) -> Tensor:
        """Patch tokens with CLS prepended and position embeddings added:
        ``[B, 1 + (H // p) (W // p), D]``."""
        patch = self.patch_embed.patch_size
        if min(images.shape[-2:]) < patch:
            raise ValueError(f'images of {tuple(images.shape[-2:])} px are smaller than one '
                             f'{patch}x{patch} patch')
        x = self.patch_embed(images)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        pos = interpolate_position_embedding(
            self.pos_embed, images.shape[-2] // patch, images.shape[-1] // patch)
        return x + pos

    def forward(self, images: Tensor) -> Tensor:
        """ImageNet-normalised ``[B, 3, H, W]`` -> last-block keys ``[B, T, D]``."""
        x = self.tokens(images)
        for block in self.blocks[:-1]:
            x = block(x)
        last = self.blocks[-1]
        return last.attn.keys(last.norm1(x))
