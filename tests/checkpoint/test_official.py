"""The official checkpoint formats: recognised by family, keys renamed."""
import pytest
import torch

from cpabmm.checkpoint import official_families, official_format


def test_families_are_recognised_by_their_entries():
    assert official_families({'kp_detector': {}, 'inpainting_network': {}}) == ['tpsmm']
    assert official_families({'generator': {}, 'discriminator': {}}) == ['fomm']
    assert official_families({'kp_detector': {}}) == ['tpsmm', 'fomm']
    assert official_families({'state_dict': {}, 'meta': {}}) == []
    assert official_families({'w': torch.zeros(1)}) == []


def test_conversion_renames_keys_and_keeps_values():
    value = torch.arange(3.)
    converted = official_format('tpsmm').convert(
        {'avd_network': {'module.id_encoder.0.weight': value}, 'epoch': 3})
    assert list(converted) == ['avd.id_encoder.0.weight']
    assert converted['avd.id_encoder.0.weight'] is value


def test_unknown_entries_and_families_are_refused():
    with pytest.raises(ValueError, match="unknown entries \\['extra'\\]"):
        official_format('fomm').convert({'generator': {}, 'extra': {}})
    with pytest.raises(ValueError, match="unknown official model 'x'"):
        official_format('x')
