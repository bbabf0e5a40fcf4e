"""DINO ViT: the official key layout, a naive reference forward, position-embedding resizing."""
import math

import pytest
import torch

from cpabmm.models.backbones import DINOViT, interpolate_position_embedding
from cpabmm.models.backbones.dino_vit import DINO_VITB8_FILENAME

SMALL = dict(patch_size=8, embed_dim=32, depth=2, num_heads=4, train_size=32)


def official_key_names(depth):
    """The key names of DINO's released backbone files (``dino_vitbase8_pretrain.pth``)."""
    names = ['cls_token', 'pos_embed', 'patch_embed.proj.weight', 'patch_embed.proj.bias']
    for i in range(depth):
        for layer in ('norm1', 'attn.qkv', 'attn.proj', 'norm2', 'mlp.fc1', 'mlp.fc2'):
            names += [f'blocks.{i}.{layer}.weight', f'blocks.{i}.{layer}.bias']
    return set(names + ['norm.weight', 'norm.bias'])


@pytest.fixture()
def official_file(tmp_path):
    """A small random ViT saved with the official key names."""
    torch.manual_seed(0)
    state_dict = DINOViT(pretrained=False, **SMALL).state_dict()
    path = tmp_path / 'dino_small.pth'
    torch.save(state_dict, path)
    return path, state_dict


def naive_last_keys(state_dict, images, patch, heads, depth):
    """DINO's forward written out with explicit softmax attention, up to the
    keys of the last block (qkv reshaped to [3, heads, head_dim], k taken)."""
    sd = state_dict
    x = torch.nn.functional.conv2d(images, sd['patch_embed.proj.weight'], sd['patch_embed.proj.bias'],
                                   stride=patch).flatten(2).transpose(1, 2)
    x = torch.cat([sd['cls_token'].expand(len(x), -1, -1), x], 1) + sd['pos_embed']
    dim = x.shape[-1]

    def norm(t, name):
        return torch.nn.functional.layer_norm(t, (dim,), sd[name + '.weight'], sd[name + '.bias'], 1e-6)

    def linear(t, name):
        return t @ sd[name + '.weight'].T + sd[name + '.bias']

    for i in range(depth):
        p = f'blocks.{i}.'
        qkv = linear(norm(x, p + 'norm1'), p + 'attn.qkv')
        qkv = qkv.reshape(len(x), x.shape[1], 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
        if i == depth - 1:
            return qkv[1].transpose(1, 2).reshape(len(x), x.shape[1], dim)
        attention = (qkv[0] @ qkv[1].transpose(-2, -1) * (dim // heads) ** -0.5).softmax(-1)
        y = (attention @ qkv[2]).transpose(1, 2).reshape(len(x), x.shape[1], dim)
        x = x + linear(y, p + 'attn.proj')
        h = torch.nn.functional.gelu(linear(norm(x, p + 'norm2'), p + 'mlp.fc1'))
        x = x + linear(h, p + 'mlp.fc2')


def test_state_dict_uses_the_official_key_names():
    assert set(DINOViT(pretrained=False, **SMALL).state_dict()) == official_key_names(2)


def test_loaded_vit_returns_the_last_block_keys(official_file):
    path, state_dict = official_file
    vit = DINOViT(checkpoint=str(path), **SMALL)
    images = torch.randn(2, 3, 32, 32)
    keys = vit(images)
    assert keys.shape == (2, 1 + 16, 32)
    expected = naive_last_keys(state_dict, images, 8, 4, 2)
    torch.testing.assert_close(keys, expected, rtol=1e-4, atol=1e-5)


def test_other_input_sizes_interpolate_the_position_embeddings(official_file):
    path, _ = official_file
    vit = DINOViT(checkpoint=str(path), **SMALL)
    keys = vit(torch.randn(1, 3, 48, 40))
    assert keys.shape == (1, 1 + 6 * 5, 32)


def test_position_embedding_interpolation_same_size_is_identity():
    pos = torch.randn(1, 1 + 16, 8)
    assert interpolate_position_embedding(pos, 4, 4) is pos


def keys_cubic_resize(values, out_size, scale):
    """1-D cubic convolution (Keys, a = -0.75, clamped borders) of ``values``
    along dim 0, sampled at ``(i + 0.5) / scale - 0.5`` for i < out_size."""
    a = -0.75

    def weight(t):
        t = t.abs()
        near = ((a + 2) * t - (a + 3)) * t * t + 1
        far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
        return torch.where(t <= 1, near, torch.where(t < 2, far, torch.zeros_like(t)))

    source = (torch.arange(out_size, dtype=torch.float64) + 0.5) / scale - 0.5
    base = source.floor()
    rows = []
    for i in range(out_size):
        row = torch.zeros(values.shape[0], dtype=torch.float64)
        for tap in range(-1, 3):
            index = int(min(max(base[i] + tap, 0), values.shape[0] - 1))
            row[index] += weight(source[i] - (base[i] + tap))
        rows.append(row)
    return torch.stack(rows) @ values.reshape(values.shape[0], -1)


def test_position_embedding_interpolation_is_dinos_bicubic_resize():
    """Against an explicit cubic convolution at DINO's scale factors
    ``(n + 0.1) / N`` per side; the CLS embedding is kept."""
    side, dim, grid_h, grid_w = 6, 3, 9, 4
    torch.manual_seed(0)
    pos = torch.randn(1, 1 + side * side, dim, dtype=torch.float64)
    out = interpolate_position_embedding(pos, grid_h, grid_w)
    assert out.shape == (1, 1 + grid_h * grid_w, dim)
    assert torch.equal(out[:, 0], pos[:, 0])
    grid = pos[0, 1:].reshape(side, side, dim)
    along_h = keys_cubic_resize(grid, grid_h, (grid_h + 0.1) / side).reshape(grid_h, side, dim)
    expected = keys_cubic_resize(along_h.transpose(0, 1), grid_w, (grid_w + 0.1) / side)
    expected = expected.reshape(grid_w, grid_h, dim).transpose(0, 1)
    torch.testing.assert_close(out[0, 1:].reshape(grid_h, grid_w, dim), expected,
                               rtol=1e-9, atol=1e-9)


def test_missing_file_names_the_hub_path(monkeypatch, tmp_path):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    with pytest.raises(FileNotFoundError) as error:
        DINOViT()
    message = str(error.value)
    assert '\n' not in message and DINO_VITB8_FILENAME in message and str(tmp_path) in message
    assert 'dl.fbaipublicfiles.com/dino' in message


def test_unexpected_keys_are_refused(official_file, tmp_path):
    _, state_dict = official_file
    with_head = dict(state_dict, **{'head.weight': torch.zeros(10, 32)})
    path = tmp_path / 'with_head.pth'
    torch.save(with_head, path)
    with pytest.raises(ValueError, match='has keys that DINO ViT.*does not have \\(head.weight\\)'):
        DINOViT(checkpoint=str(path), **SMALL)


def test_other_architecture_is_refused(official_file):
    path, _ = official_file
    with pytest.raises(ValueError, match='lacks keys'):
        DINOViT(checkpoint=str(path), **dict(SMALL, depth=3))
    with pytest.raises(ValueError, match='shapes that differ'):
        DINOViT(checkpoint=str(path), **dict(SMALL, embed_dim=64))


def test_defaults_are_vit_b8():
    with torch.device('meta'):  # shapes only: no memory, no initialisation cost
        vit = DINOViT(pretrained=False)
    shapes = {k: tuple(v.shape) for k, v in vit.state_dict().items()}
    assert shapes['pos_embed'] == (1, 785, 768)
    assert shapes['patch_embed.proj.weight'] == (768, 3, 8, 8)
    assert shapes['blocks.11.attn.qkv.weight'] == (2304, 768)
    assert len(vit.blocks) == 12 and vit.blocks[0].attn.num_heads == 12
    assert math.isclose(sum(v.numel() for v in vit.state_dict().values()) / 1e6, 85.8, abs_tol=0.1)
