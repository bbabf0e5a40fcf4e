"""AED with a user-supplied network and weights file."""
import math

import pytest
import torch

from cpabmm.evaluation import (AED, IDENTITY_EMBEDDERS, IdentityEmbedder,
                               MetricUnavailableError, TorchEmbedder,
                               aed_distances, build_identity_embedder)
from .helpers import ColourMean, sample

NETWORK = 'tests.evaluation.helpers:ColourMean'


@pytest.fixture
def identity_weights(tmp_path):
    """ColourMean weights that make the embedding the mean colour."""
    network = ColourMean()
    with torch.no_grad():
        network.mix.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
    path = tmp_path / 'colour_mean.pth'
    torch.save(network.state_dict(), path)
    return str(path)


def constant(rgb, size=16) -> torch.Tensor:
    return torch.tensor(rgb, dtype=torch.float32).view(3, 1, 1).expand(3, size, size).clone()


def test_aed_distances_by_hand():
    # (1, 0, 0) against (1, 1, 0)/sqrt(2): (1 - 1/sqrt 2)^2 + (1/sqrt 2)^2 = 2 - sqrt 2.
    # Scale does not matter (unit normalisation); opposite directions give 4.
    generated = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 3.0], [1.0, 1.0, 0.0]])
    real = torch.tensor([[5.0, 5.0, 0.0], [0.0, 0.0, 1.0], [-1.0, -1.0, 0.0]])
    assert aed_distances(generated, real).tolist() == pytest.approx(
        [2 - math.sqrt(2), 0.0, 4.0], abs=1e-12)


def test_aed_through_a_user_network_and_weights_file(identity_weights):
    metric = AED(embedder=dict(type='TorchEmbedder', network=NETWORK,
                               weights=identity_weights, input_size=8))
    red, yellow, dark_red = constant([1, 0, 0]), constant([1, 1, 0]), constant([0.5, 0, 0])
    metric.process(None, [sample('v', 0, red, yellow), sample('v', 1, dark_red, red)])
    result = metric.evaluate(2)
    assert result['AED'] == pytest.approx((2 - math.sqrt(2) + 0.0) / 2, abs=1e-6)
    assert result['AED_embedder'] == f'{NETWORK}@colour_mean.pth'


def test_preprocessing_order_and_normalisation(identity_weights):
    embedder = TorchEmbedder(network=NETWORK, weights=identity_weights,
                             input_size=(4, 6), channel_order='bgr',
                             mean=(0.5, 0.5, 0.5), std=(0.5, 0.25, 0.5))
    embedding = embedder.embed(constant([1.0, 0.5, 0.0])[None])
    # BGR order: (0, 0.5, 1), then (x - 0.5) / std.
    assert embedding[0].tolist() == pytest.approx([-1.0, 0.0, 1.0], abs=1e-6)


def test_weights_are_read_from_a_checkpoint_entry_with_a_prefix(tmp_path, identity_weights):
    state = torch.load(identity_weights, weights_only=True)
    path = tmp_path / 'wrapped.pth'
    torch.save({'model': {f'module.{k}': v for k, v in state.items()}}, path)
    embedder = TorchEmbedder(network=NETWORK, weights=str(path),
                             state_dict_key='model', strip_prefix='module.')
    assert torch.equal(embedder.network.mix.weight, state['mix.weight'])


def test_missing_weights_file_is_a_one_line_error(tmp_path):
    missing = tmp_path / 'openface.pth'
    with pytest.raises(MetricUnavailableError, match=str(missing)) as error:
        AED(embedder=dict(type='TorchEmbedder', network=NETWORK, weights=str(missing)))
    assert '\n' not in str(error.value)


def test_mismatched_weights_are_a_one_line_error(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save({'conv.weight': torch.zeros(1)}, path)
    with pytest.raises(ValueError, match='1 missing keys') as error:
        TorchEmbedder(network=NETWORK, weights=str(path))
    assert '\n' not in str(error.value)


def test_weights_of_other_shapes_are_a_one_line_error(tmp_path):
    path = tmp_path / 'wide.pth'
    torch.save(ColourMean(channels=8).state_dict(), path)
    with pytest.raises(ValueError, match='does not match the identity network') as error:
        TorchEmbedder(network=NETWORK, weights=str(path))
    assert '\n' not in str(error.value) and 'size mismatch' in str(error.value)


def test_pickled_modules_are_refused(tmp_path):
    path = tmp_path / 'model.pth'
    torch.save(ColourMean(), path)
    with pytest.raises(ValueError, match='not a weights-only checkpoint'):
        TorchEmbedder(network=NETWORK, weights=str(path))


@pytest.mark.parametrize('network,error,message', [
    ('tests.evaluation.helpers', ValueError, "'package.module:attribute'"),
    ('tests.evaluation.helpers:Nothing', ValueError, 'no attribute'),
    ('no_such_package.net:Net', MetricUnavailableError, 'cannot import'),
])
def test_network_paths_are_checked(identity_weights, network, error, message):
    with pytest.raises(error, match=message):
        TorchEmbedder(network=network, weights=identity_weights)


def test_weights_are_required_for_a_network_path():
    with pytest.raises(ValueError, match='needs weights='):
        TorchEmbedder(network=NETWORK)


def test_users_can_register_their_own_embedder():
    @IDENTITY_EMBEDDERS.register_module(force=True)
    class MeanColourEmbedder(IdentityEmbedder):
        name = 'mean_colour'

        def embed(self, images):
            return images.mean(dim=(2, 3))

    metric = AED(embedder=dict(type='MeanColourEmbedder'))
    metric.process(None, [sample('v', 0, constant([1, 0, 0]), constant([0, 1, 0]))])
    assert metric.evaluate(1) == {'AED': pytest.approx(2.0), 'AED_embedder': 'mean_colour'}
    with pytest.raises(ValueError, match='dict with a type'):
        build_identity_embedder('MeanColourEmbedder')
