"""The fast CPAB solver's building blocks against the plain formulations, and
its operation count (issue #19: the ATen ops of a CPU fit stand for the
kernel launches of a GPU one)."""
import pytest
import torch

from cpabmm.benchmarks import count_aten_ops
from cpabmm.models.motion import CPABMotion, cpab_solver
from cpabmm.models.motion.cpab_diagnostics import keypoint_pairs
from cpabmm.ops.cpab import CPAB, function
from cpabmm.ops.cpab.tessellation import triangle_index
from .test_cpab_motion import one_thread  # noqa: F401 (autouse: one intra-op thread)


def awkward_points(nc, dtype, generator):
    """Random points in and around [0, 1]^2, and points on the cell lines,
    diagonals and centres, where the triangle rule's ties lie."""
    nx, ny = nc
    random = torch.rand(400, 2, generator=generator, dtype=dtype) * 1.6 - 0.3
    fine = torch.stack(torch.meshgrid(torch.arange(-2, 4 * nx + 3) / (4 * nx),
                                      torch.arange(-2, 4 * ny + 3) / (4 * ny),
                                      indexing='ij'), dim=-1).reshape(-1, 2).to(dtype)
    return torch.cat([random, fine])


@pytest.mark.parametrize('nc', [(4, 4), (6, 6), (3, 5)])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_gather_picks_the_triangles_of_triangle_index(nc, dtype):
    """The field's one-gather lookup gives the rows of the triangle that
    :func:`triangle_index` locates, ties included."""
    basis = CPAB(nc).basis.to(dtype)
    field = cpab_solver.LinearisedField(basis, nc)
    points = awkward_points(nc, dtype, torch.Generator().manual_seed(0))
    rows = basis.reshape(-1, 2, 3, basis.shape[1]).transpose(1, 2)
    assert torch.equal(field.gather(points), rows[triangle_index(points, nc)])


def test_midpoint_jacobian_solves_the_damped_system():
    """``(I - Dv / 2)^-1 V`` solves the damped system; with per-point factors
    each point's rows are scaled."""
    generator = torch.Generator().manual_seed(1)
    cpab = CPAB((4, 4))
    field = cpab_solver.LinearisedField(cpab.basis, cpab.nc)
    points = torch.rand(3, 5, 2, generator=generator, dtype=torch.float64)
    theta = cpab.sample_theta(3, generator=generator, dtype=torch.float64)
    rows = field.gather(points)
    damped = torch.eye(2, dtype=torch.float64) - field.linear_part(rows, theta) / 2
    expected = torch.linalg.solve(damped, field.velocity_matrix(rows, points))
    torch.testing.assert_close(field.jacobian(rows, points, theta), expected)
    scale = torch.rand(3, 5, 1, generator=generator, dtype=torch.float64)
    torch.testing.assert_close(field.jacobian(rows, points, theta, scale),
                               expected * scale[..., None])


#: top-level ATen ops of one CPU fit at batch 1 (K = 10, default settings) on
#: torch 2.14: 158 with the CPU's eigh weight choice, 164 with the GPUs'
#: Cholesky one (run on the CPU), the linearised systems from the compiled
#: kernel (one call each); 732 and 756 before issue #19's work, 436 and 431
#: after its first pass (bit-identical thetas), 277 and 283 after its second
#: (the systems from PyTorch ops, as in differentiable fits: 279 there).
FIT_OPS = 165
#: the same without the compiled kernels (and the differentiable fits)
FIT_OPS_TORCH = 285


@pytest.mark.parametrize('eigh_devices', [('cpu',), ()])
@pytest.mark.parametrize('systems', ['compiled', 'torch'])
def test_fit_operation_count(eigh_devices, systems, monkeypatch):
    """A batch-1 fit dispatches at most :data:`FIT_OPS` top-level ATen ops
    on either weight-choice path (:data:`FIT_OPS_TORCH` with the systems
    from PyTorch ops)."""
    monkeypatch.setattr(cpab_solver, 'EIGH_DEVICES', eigh_devices)
    limit = FIT_OPS
    if systems == 'torch' or not function.compiled_available(torch.device('cpu')):
        monkeypatch.setattr(CPAB, 'runs_compiled', lambda self, device: False)
        limit = FIT_OPS_TORCH
    kp_source, kp_driving = keypoint_pairs('small', 1)
    count = count_aten_ops(CPABMotion().fit, {'value': kp_source}, {'value': kp_driving})
    assert count <= limit, f'CPABMotion.fit dispatches {count} ATen ops (at most {limit})'
