"""SAM image encoder: official checkpoint layout, SAM's own preprocessing, keypoint mapping."""
from functools import partial

import pytest
import torch
from segment_anything.modeling import (ImageEncoderViT, MaskDecoder, PromptEncoder, Sam,
                                       TwoWayTransformer)
from segment_anything.utils.transforms import ResizeLongestSide

from cpabmm.models.backbones import SAMImageEncoder
from cpabmm.models.backbones.sam_encoder import SAM_ARCHS

TINY = dict(img_size=64, embed_dim=32, depth=2, num_heads=2, global_attn_indexes=(1,),
            window_size=2, out_chans=16)


def official_sam(arch):
    """A whole (tiny) SAM as segment-anything builds it: its state dict is the
    layout of the official checkpoints (image_encoder., prompt_encoder., mask_decoder.)."""
    torch.manual_seed(0)
    grid = arch['img_size'] // 16
    encoder = ImageEncoderViT(
        img_size=arch['img_size'], patch_size=16, embed_dim=arch['embed_dim'], depth=arch['depth'],
        num_heads=arch['num_heads'], mlp_ratio=4, out_chans=arch['out_chans'], qkv_bias=True,
        norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), use_rel_pos=True,
        window_size=arch['window_size'], global_attn_indexes=arch['global_attn_indexes'])
    with torch.no_grad():  # non-zero position terms, so that they are tested too
        encoder.pos_embed.normal_(0, 0.1)
        for block in encoder.blocks:
            block.attn.rel_pos_h.normal_(0, 0.1)
            block.attn.rel_pos_w.normal_(0, 0.1)
    channels = arch['out_chans']
    return Sam(
        image_encoder=encoder,
        prompt_encoder=PromptEncoder(embed_dim=channels, image_embedding_size=(grid, grid),
                                     input_image_size=(arch['img_size'],) * 2, mask_in_chans=4),
        mask_decoder=MaskDecoder(num_multimask_outputs=3, transformer_dim=channels,
                                 transformer=TwoWayTransformer(depth=1, embedding_dim=channels,
                                                               mlp_dim=32, num_heads=2),
                                 iou_head_depth=1, iou_head_hidden_dim=8)).eval()


@pytest.fixture()
def checkpoint(tmp_path):
    sam = official_sam(TINY)
    path = tmp_path / 'sam_tiny.pth'
    torch.save(sam.state_dict(), path)
    return sam, path


@pytest.mark.parametrize('size', [(64, 64), (40, 50), (96, 72)])
def test_embedding_matches_sam_with_its_own_preprocessing(checkpoint, size):
    sam, path = checkpoint
    ours = SAMImageEncoder(arch=TINY, checkpoint=str(path))
    images = torch.rand(2, 3, *size)
    # SAM's resize (ResizeLongestSide.apply_image_torch reads the size from
    # the batch and channel dimensions, so its two steps are called directly)
    target = ResizeLongestSide.get_preprocess_shape(*size, TINY['img_size'])
    with torch.no_grad():
        resized = torch.nn.functional.interpolate(images * 255, target, mode='bilinear',
                                                  align_corners=False, antialias=True)
        expected = sam.image_encoder(sam.preprocess(resized))
        actual = ours(images)
    assert actual.shape == (2, 16, 4, 4)
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-4)


def test_only_image_encoder_keys_are_read_and_the_encoder_is_frozen(checkpoint):
    sam, path = checkpoint
    ours = SAMImageEncoder(arch=TINY, checkpoint=str(path))
    assert torch.equal(ours.encoder.blocks[1].attn.rel_pos_h, sam.image_encoder.blocks[1].attn.rel_pos_h)
    assert not any(p.requires_grad for p in ours.parameters())


def test_encoder_of_another_size_is_refused(checkpoint):
    _, path = checkpoint
    with pytest.raises(ValueError, match='lacks keys') as error:
        SAMImageEncoder(arch=dict(TINY, depth=3, global_attn_indexes=(2,)), checkpoint=str(path))
    assert '\n' not in str(error.value)
    with pytest.raises(ValueError, match='has keys that'):
        SAMImageEncoder(arch=dict(TINY, depth=1, global_attn_indexes=(0,)), checkpoint=str(path))
    with pytest.raises(ValueError, match='shapes that differ'):
        SAMImageEncoder(arch=dict(TINY, embed_dim=64), checkpoint=str(path))


def test_file_without_image_encoder_is_refused(tmp_path):
    path = tmp_path / 'not_sam.pth'
    torch.save({'backbone.weight': torch.zeros(1)}, path)
    with pytest.raises(ValueError, match='no image_encoder'):
        SAMImageEncoder(arch=TINY, checkpoint=str(path))


@pytest.mark.parametrize('arch', sorted(SAM_ARCHS))
def test_missing_published_checkpoint_names_path_and_url(arch, monkeypatch, tmp_path):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    with pytest.raises(FileNotFoundError) as error:
        SAMImageEncoder(arch=arch)
    message = str(error.value)
    assert '\n' not in message and str(tmp_path) in message
    assert f'sam_{arch}_' in message and 'segment_anything' in message


def test_published_arch_sizes():
    with torch.device('meta'):
        encoder = SAMImageEncoder(arch='vit_b', pretrained=False)
    shapes = {k: tuple(v.shape) for k, v in encoder.encoder.state_dict().items()}
    assert shapes['pos_embed'] == (1, 64, 64, 768)
    assert shapes['blocks.2.attn.rel_pos_h'] == (127, 64)  # global block: 2 * 64 - 1
    assert shapes['blocks.0.attn.rel_pos_h'] == (27, 64)  # window 14: 2 * 14 - 1
    assert shapes['neck.2.weight'] == (256, 256, 3, 3)
    assert encoder.embedding_size == 64


@pytest.mark.parametrize('size', [(256, 256), (200, 300)])
def test_keypoints_map_to_the_embedding_cells_they_fall_in(size):
    """Cell j of the embedding covers resized pixels [16 j, 16 j + 16); a
    field holding each cell centre's original pixel coordinate, sampled at a
    keypoint, returns the keypoint's pixel coordinate."""
    encoder = SAMImageEncoder(arch=dict(TINY, img_size=256), pretrained=False)
    h, w = size
    resized_h, resized_w = ResizeLongestSide.get_preprocess_shape(h, w, 256)
    cells = torch.arange(16, dtype=torch.float64)
    # pixel-centre coordinates (in the original image) of each cell's centre
    centre_x = (16 * cells + 8) * w / resized_w - 0.5
    centre_y = (16 * cells + 8) * h / resized_h - 0.5
    field = torch.stack([centre_x.view(1, 16).expand(16, 16),
                         centre_y.view(16, 1).expand(16, 16)])[None]
    pixels = torch.tensor([[[20.0, 30.0], [w / 2, h / 3], [w - 40.0, h - 35.0]]], dtype=torch.float64)
    keypoints = 2 * pixels / torch.tensor([w - 1, h - 1], dtype=torch.float64) - 1
    coordinates = encoder.embedding_coordinates(keypoints, size)
    sampled = torch.nn.functional.grid_sample(field, coordinates[:, :, None], align_corners=False)
    torch.testing.assert_close(sampled[0, :, :, 0].T, pixels[0], rtol=0, atol=1e-9)
