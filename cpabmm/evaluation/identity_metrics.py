"""AED: identity preservation measured with an identity embedder."""
from __future__ import annotations

from typing import Any, Dict, Union

import torch
import torch.nn.functional as F

from cpabmm.registry import METRICS
from .embedders import IdentityEmbedder, build_identity_embedder
from .paired_metric import PairedImageMetric


def aed_distances(generated: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Squared L2 distances ``[B]`` between unit-normalised embeddings
    ``[B, D]`` (0 for the same direction, 4 for opposite ones)."""
    return (F.normalize(generated.double(), dim=1) -
            F.normalize(real.double(), dim=1)).square().sum(1)


@METRICS.register_module()
class AED(PairedImageMetric):
    """Average euclidean distance of identity embeddings.

    Per frame, the squared L2 distance between the unit-normalised
    embeddings of the generated and the real frame (as pose-evaluation
    computes it), averaged over all frames of all videos. The results hold
    ``AED`` and ``AED_embedder`` (the embedder's name).

    Args:
        embedder: an ``IDENTITY_EMBEDDERS`` config (e.g. ``TorchEmbedder``
            with your OpenFace or re-identification weights) or an instance.
        **kwargs: ``pred_key``, ``gt_key`` (``'source'`` compares with the
            source identity in cross-identity animation) and the
            ``BaseMetric`` arguments.
    """

    statistics = ('AED', )

    def __init__(self, embedder: Union[dict, IdentityEmbedder], **kwargs) -> None:
        super().__init__(**kwargs)
        self.embedder = build_identity_embedder(embedder)

    def score(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        return aed_distances(self.embedder.embed(pred), self.embedder.embed(gt))

    def result_info(self) -> Dict[str, Any]:
        return {'AED_embedder': self.embedder.name}
