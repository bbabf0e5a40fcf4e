"""tools/convert_checkpoint.py: official pickles in, weights-only checkpoints out."""
import os.path as osp
import pathlib

import numpy as np
import pytest
import torch

from cpabmm.zoo.checksum import file_sha256
from tests.models.official_weights import recipe_tensor, split_official
from tests.tools.loading import load_tool



@pytest.fixture(scope='module')
def tool():
    return load_tool('convert_checkpoint')


@pytest.fixture(scope='module')
def official_shapes(fixtures_dir):
    return {name: torch.load(osp.join(fixtures_dir, f'{name}_vox-256.pt'),
                             weights_only=True)['state_dict_shapes']
            for name in ('tpsmm', 'fomm')}


def official_file(path, shapes, keep, legacy=False, **extra):
    """An official-layout checkpoint with the recipe's values for the keys
    that start with one of ``keep``, plus ``extra`` entries; ``legacy``
    writes the pre-1.6 format of the released FOMM files."""
    flat = {k: recipe_tensor(k, s) for k, s in shapes.items() if k.startswith(keep)}
    checkpoint = split_official(flat)
    checkpoint.update(extra)
    torch.save(checkpoint, path, _use_new_zipfile_serialization=not legacy)
    return flat


def test_tpsmm_checkpoint_converts_to_weights_only(tool, official_shapes, tmp_path, capsys):
    src, dst = tmp_path / 'vox.pth.tar', tmp_path / 'out' / 'tpsmm.pth'
    # numpy scalars, as old training scripts stored them, need no trust
    flat = official_file(src, official_shapes['tpsmm'], ('avd_network.', 'bg_predictor.'),
                         epoch=np.int64(99), optimizer={'state': {}, 'lr': np.float64(2e-4)})
    assert tool.main([str(src), str(dst), '--model', 'tpsmm']) == 0
    assert 'wrote' in capsys.readouterr().out
    converted = torch.load(dst, weights_only=True)
    state_dict = converted['state_dict']
    assert len(state_dict) == len(flat)
    torch.testing.assert_close(state_dict['avd.id_encoder.0.weight'],
                               flat['avd_network.id_encoder.0.weight'])
    torch.testing.assert_close(state_dict['background.backbone.fc.bias'],
                               flat['bg_predictor.bg_encoder.fc.bias'])
    assert converted['meta']['official_entries'] == ['bg_predictor', 'avd_network']
    assert converted['meta']['source_sha256'] == file_sha256(str(src))


def test_fomm_keys_are_renamed(tool, official_shapes, tmp_path):
    src, dst = tmp_path / 'fomm.pth.tar', tmp_path / 'fomm.pth'
    keep = ('kp_detector.kp.', 'kp_detector.jacobian.', 'kp_detector.down.',
            'generator.dense_motion_network.occlusion.', 'generator.bottleneck.r5.conv1.')
    official_file(src, official_shapes['fomm'], keep, legacy=True,
                  discriminator={'discs.1.conv.bias': torch.zeros(1)}, epoch=np.int64(99))
    assert tool.main([str(src), str(dst), '--model', 'fomm']) == 0
    keys = set(torch.load(dst, weights_only=True)['state_dict'])
    assert keys == {
        'keypoint_detector.heatmap_head.weight', 'keypoint_detector.heatmap_head.bias',
        'keypoint_detector.jacobian_head.weight', 'keypoint_detector.jacobian_head.bias',
        'keypoint_detector.downsample.weight', 'dense_motion.occlusion_heads.0.weight',
        'dense_motion.occlusion_heads.0.bias', 'generator.bottleneck.5.conv1.weight',
        'generator.bottleneck.5.conv1.bias',
        'losses.adversarial.loss.discriminator.discs.1.conv.bias'}


def test_objects_beyond_tensors_need_explicit_trust(tool, official_shapes, tmp_path, capsys):
    src, dst = tmp_path / 'odd.pth.tar', tmp_path / 'odd.pth'
    official_file(src, official_shapes['tpsmm'], ('avd_network.',),
                  epoch=pathlib.PurePosixPath('not/a/tensor'))
    assert tool.main([str(src), str(dst), '--model', 'tpsmm']) == 1
    error = capsys.readouterr().err
    assert '--trust-pickle' in error and 'pathlib.PurePosixPath' in error
    assert not dst.exists()
    assert tool.main([str(src), str(dst), '--model', 'tpsmm', '--trust-pickle']) == 0
    assert torch.load(dst, weights_only=True)['state_dict']


def test_checkpoint_of_the_other_model_is_refused(tool, official_shapes, tmp_path, capsys):
    src, dst = tmp_path / 'vox.pth.tar', tmp_path / 'out.pth'
    official_file(src, official_shapes['tpsmm'], ('avd_network.',))
    assert tool.main([str(src), str(dst), '--model', 'fomm']) == 1
    assert "unknown entries ['avd_network']" in capsys.readouterr().err


def test_missing_source_is_an_error(tool, tmp_path, capsys):
    assert tool.main([str(tmp_path / 'nope.pth.tar'), str(tmp_path / 'o.pth'),
                      '--model', 'tpsmm']) == 1
    assert 'not found' in capsys.readouterr().err
