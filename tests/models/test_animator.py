"""ImageAnimator, its data preprocessor and init_model (small 64x64 configs)."""
import os.path as osp

import pytest
import torch
from mmengine.dataset import default_collate, pseudo_collate
from torch import nn

from cpabmm.apis import init_model
from cpabmm.registry import MODELS

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')
TPSMM = osp.join(CONFIGS, '_base_', 'models', 'tpsmm-64.py')
FOMM = osp.join(CONFIGS, '_base_', 'models', 'fomm-64.py')


def images(batch=2, size=64, channels=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return {'source': torch.rand(batch, channels, size, size, generator=generator),
            'driving': torch.rand(batch, channels, size, size, generator=generator)}


@pytest.fixture(scope='module')
def tpsmm():
    return init_model(TPSMM)


@pytest.fixture(scope='module')
def tpsmm_outputs(tpsmm):
    with torch.no_grad():
        return tpsmm(images(), mode='tensor')


def test_tensor_mode_returns_every_stage(tpsmm, tpsmm_outputs):
    out = tpsmm_outputs
    assert out['kp_source']['value'].shape == (2, 50, 2)
    assert out['bg_affine'].shape == (2, 3, 3)
    assert out['contribution_maps'].shape == (2, 11, 32, 32)
    assert out['flow'].shape == (2, 32, 32, 2)
    assert [m.shape[-1] for m in out['occlusion']] == [16, 32, 64]
    assert out['prediction'].shape == (2, 3, 64, 64)
    assert out['dropout_p'] is None and 'warped_encoder_maps' not in out
    assert not tpsmm.training


def test_val_step_predicts_per_sample_with_metadata(tpsmm):
    batch = images()
    batch = {key: (value * 255).to(torch.uint8) for key, value in batch.items()}
    batch['video_id'] = ['a', 'b']
    batch['driving_index'] = torch.tensor([3, 7])
    tpsmm.predict_outputs = ('keypoints', 'flow', 'occlusion', 'contribution_maps')
    try:
        results = tpsmm.val_step(batch)
    finally:
        tpsmm.predict_outputs = ()
    assert len(results) == 2
    first = results[0]
    assert first['prediction'].shape == (3, 64, 64)
    assert first['kp_driving']['value'].shape == (50, 2)
    assert first['flow'].shape == (32, 32, 2)
    assert [m.shape for m in first['occlusion']][-1] == (1, 64, 64)
    assert first['contribution_maps'].shape == (11, 32, 32)
    assert results[1]['metainfo'] == {'video_id': 'b', 'driving_index': torch.tensor(7)}


@pytest.mark.parametrize('change, message', [
    (dict(channels=4), 'source has 4 channels, this model takes 3'),
    (dict(size=48), 'source is 48x48, this model takes 64x64: resize it'),
])
def test_wrong_images_are_clear_errors(tpsmm, change, message):
    with pytest.raises(ValueError, match=message):
        tpsmm(images(**change), mode='predict')


def test_other_input_errors(tpsmm):
    with pytest.raises(ValueError, match=r'driving must be a \[B, C, H, W\] tensor, got \[3, 64'):
        tpsmm({'source': torch.rand(1, 3, 64, 64), 'driving': torch.rand(3, 64, 64)})
    with pytest.raises(ValueError, match="a batch needs 'source' and 'driving' images"):
        tpsmm.val_step({'source': torch.rand(1, 3, 64, 64)})
    with pytest.raises(ValueError, match='unknown outputs'):
        tpsmm(images(), mode='predict', outputs=('flows',))
    with pytest.raises(ValueError, match='no losses configured'):
        tpsmm(images(), mode='loss')


def test_sizes_must_suit_the_networks_when_no_size_is_fixed(tpsmm):
    tpsmm.image_size = None
    try:
        with torch.no_grad():
            result = tpsmm(images(1, size=96), mode='predict')[0]
            with pytest.raises(ValueError, match='sides must be multiples of 32'):
                tpsmm(images(1, size=80), mode='predict')
    finally:
        tpsmm.image_size = (64, 64)
    assert result['prediction'].shape == (3, 96, 96)


def test_keypoint_count_must_match_the_motion_model():
    with pytest.raises(ValueError, match='gives 40 keypoints but TPSMotion needs 50'):
        init_model(TPSMM, cfg_options={'model.keypoint_detector.num_keypoints': 40})


class PixelL1(nn.Module):
    """Mean absolute difference between the prediction and the driving frame
    (keeps the outputs it was given, for the test to inspect)."""

    def forward(self, outputs, inputs, animator):
        self.outputs = outputs
        return (outputs['prediction'] - inputs['driving']).abs().mean()


def test_training_forward_schedules_and_gradients(tpsmm):
    dropout = dict(epochs=7, start_p=0.1, max_p=0.3, ramp_epochs=2)
    model = MODELS.build(dict(tpsmm.cfg.model, losses={'loss_l1': PixelL1()}, bg_start=2,
                              transform_dropout=dropout))
    model.train()
    expected_p = {0: 0.1, 1: 0.1 + 0.3 / 2, 2: 0.3, 6: 0.3, 7: None}  # 7 epochs, ramp 2
    for epoch, p in expected_p.items():
        model.set_epoch(epoch)
        assert model.dropout_p() == pytest.approx(p) if p is not None else model.dropout_p() is None
    model.set_epoch(1)
    assert not model.uses_background()
    model.set_epoch(2)
    assert model.uses_background()
    inputs = images()
    losses = model(inputs, mode='loss')
    assert set(losses) == {'loss_l1'}
    losses['loss_l1'].backward()
    for part in ('keypoint_detector', 'background', 'dense_motion', 'generator'):
        grads = [p.grad for p in getattr(model, part).parameters() if p.grad is not None]
        assert grads and sum(g.abs().sum() for g in grads) > 0, part
    out = model.losses['loss_l1'].outputs
    assert out['dropout_p'] == pytest.approx(0.3)
    assert [m.shape[-1] for m in out['warped_encoder_maps']] == [16, 32, 64]


def test_checkpoint_round_trip_with_init_model(tpsmm, tpsmm_outputs, tmp_path):
    path = tmp_path / 'tpsmm.pth'
    torch.save({'state_dict': tpsmm.state_dict(), 'meta': {'note': 'test'}}, path)
    loaded = init_model(TPSMM, str(path))
    with torch.no_grad():
        out = loaded(images(), mode='tensor')
    torch.testing.assert_close(out['prediction'], tpsmm_outputs['prediction'])


def test_checkpoint_of_another_model_names_keys_and_shapes(tpsmm, tmp_path):
    path = tmp_path / 'tpsmm.pth'
    torch.save({'state_dict': tpsmm.state_dict(), 'meta': {}}, path)
    with pytest.raises(ValueError) as error:
        init_model(FOMM, str(path))
    message = str(error.value)
    assert '\n' not in message and 'does not fit this ImageAnimator' in message
    assert ('dense_motion.hourglass.down_blocks.0.conv.weight (checkpoint [64, 84, 3, 3], '
            'model [64, 44, 3, 3])') in message
    assert 'missing keys: keypoint_detector.downsample.weight, keypoint_detector.hourglass.* (' \
        in message
    assert 'unexpected keys: keypoint_detector.backbone.* (122 keys), ' in message
    assert 'background.backbone.* (122 keys)' in message


def test_tpsmm_checkpoint_into_cpabmm_names_the_mismatches(tpsmm, tmp_path):
    path = tmp_path / 'tpsmm.pth'
    torch.save({'state_dict': tpsmm.state_dict(), 'meta': {}}, path)
    with pytest.raises(ValueError, match=r'dense_motion.contribution_head.weight \(checkpoint '
                                         r'\[11, '):
        init_model(TPSMM, str(path), cfg_options={'model.motion.type': 'CPABMotion'})


def test_official_checkpoints_must_be_converted_first(tmp_path):
    path = tmp_path / 'vox.pth.tar'
    torch.save({'kp_detector': {}, 'inpainting_network': {}}, path)
    with pytest.raises(ValueError, match='convert it first: python tools/convert_checkpoint.py'):
        init_model(TPSMM, str(path))


def test_preprocessor_accepts_every_batch_layout(tpsmm):
    pair = images(batch=2)
    samples = [{'source': pair['source'][i], 'driving': pair['driving'][i], 'video_id': str(i)}
               for i in range(2)]
    for batch in (default_collate(samples), pseudo_collate(samples), samples):
        data = tpsmm.data_preprocessor(batch)
        torch.testing.assert_close(data['inputs']['source'], pair['source'])
        assert [s['video_id'] for s in data['data_samples']] == ['0', '1']
    with pytest.raises(ValueError, match='driving must be float in'):
        tpsmm.data_preprocessor({'source': pair['source'], 'driving': pair['driving'].long()})
