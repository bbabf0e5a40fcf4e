"""Smoothness prior on CPA velocity fields (libcpab's ``covariance_cpa``).

On the A-vector, the 6 parameters of triangle ``i`` and those of triangle
``j`` covary by a squared-exponential kernel of the distance between the
triangles' centroids ``c_i``, ``c_j``; different parameters of the 2x3
matrices are independent::

    Cov_A[6 i + k, 6 j + l] = output_variance^2
                              * exp(-|c_i - c_j|^2 / (2 length_scale^2)) * [k == l]

and the prior on theta is that covariance pushed through the basis,
``Cov_theta = B^T Cov_A B``. (libcpab writes the ``k != l`` entries as
``exp(-100 max|c_i - c_j|^2 / (2 length_scale^2))``, which is 0 in floating
point for its default ``length_scale = 0.1``; here they are exactly 0.)
"""
from typing import Optional

import numpy as np
import torch


def covariance_cpa(centroids: np.ndarray, basis: np.ndarray,
                   length_scale: float = 0.1,
                   output_variance: float = 1.0) -> np.ndarray:
    """``[d, d]`` prior covariance of theta (float64).

    Args:
        centroids: ``[nT, 2]`` triangle centroids.
        basis: ``[6 nT, d]`` basis of the A-vector space.
        length_scale: distance over which triangles' fields decorrelate.
        output_variance: overall scale (squared, as in libcpab).
    """
    if not length_scale > 0 or not output_variance > 0:
        raise ValueError('length_scale and output_variance must be positive, got '
                         f'{length_scale} and {output_variance}')
    diff = centroids[:, None, :] - centroids[None, :, :]
    kernel = output_variance ** 2 * np.exp(-(diff ** 2).sum(-1) / (2 * length_scale ** 2))
    nT, d = len(centroids), basis.shape[1]
    B = basis.reshape(nT, 6 * d)                     # row i: triangle i's 6 x d block
    KB = (kernel @ B).reshape(6 * nT, d)             # (K kron I6) @ basis
    cov = basis.T @ KB
    return (cov + cov.T) / 2


def sample_gaussian(n: int, cov: np.ndarray, generator: Optional[torch.Generator] = None,
                    dtype: torch.dtype = torch.float32,
                    device: Optional[torch.device] = None) -> torch.Tensor:
    """``[n, d]`` samples of ``N(0, cov)`` (``cov`` positive semi-definite).

    Uses the eigendecomposition, so nearly singular covariances are fine.
    """
    w, V = np.linalg.eigh(cov)
    factor = torch.from_numpy(V * np.sqrt(np.clip(w, 0.0, None)))   # cov = F F^T
    z = torch.randn(n, cov.shape[0], generator=generator, dtype=torch.float64)
    return (z @ factor.T).to(dtype=dtype, device=device)
