"""Pure-PyTorch CPAB velocity and integration (the reference path).

Everything here is a function of the per-triangle matrices ``A [T, nT, 2, 3]``
(``A = (basis @ theta).view(T, nT, 2, 3)``); points are ``[P, 2]`` (shared by
all T transformations) or ``[T, P, 2]``, x first; ``nc = (nx, ny)``.
:func:`integrate` computes in float64 whatever the input dtype (see there).
The computation is per point: all tensors below are ``[n]`` vectors over the
points still being integrated, so the algorithm ports line by line to a
kernel with one thread per point and fixed-size state.

Regions
-------
:func:`locate` assigns a point to the triangle ``4 * (cy * nx + cx) + k`` of
the clamped cell ``cx = clamp(floor(x nx), 0, nx - 1)``, ``cy`` likewise, with
``k`` chosen from the unclamped local coordinates ``lx = x nx - cx``,
``ly = y ny - cy`` (see :func:`.tessellation.locate_cells`). The region of
triangle ``(cx, cy, k)`` is the set of points where every *active*
constraint ``g_j <= 0``::

    j=0: -lx      <= 0   (active if cx > 0)
    j=1:  lx - 1  <= 0   (active if cx < nx - 1)
    j=2: -ly      <= 0   (active if cy > 0)
    j=3:  ly - 1  <= 0   (active if cy < ny - 1)
    j=4:  s4 * (ly - lx)       <= 0,  s4 = +1 for bottom/right, -1 for top/left
    j=5:  s5 * (ly - (1 - lx)) <= 0,  s5 = +1 for bottom/left, -1 for right/top

evaluated with the same floating-point expressions as :func:`locate`, so a
located point satisfies its own region's constraints, and a point with some
``g_j > 0`` is never located in that region. Regions of boundary cells drop
the constraints of the domain boundary and extend to infinity.

Flow inside one region
----------------------
With ``v(x) = L x + c`` (``A = [L | c]``) the exact flow for a time ``s`` is::

    x(s) = x0 + s * phi1(s L) v0,      v0 = L x0 + c,  phi1(z) = (e^z - 1) / z.

Write ``L = h I + N`` with ``h = tr(L) / 2``; then ``N^2 = delta I`` with
``delta = ((L00 - L11) / 2)^2 + L01 L10``. With ``a = s h`` and
``q = s^2 delta``, ``phi1(s L) = f0(a, q) I + f1(a, q) s N``, so::

    x(s) = x0 + s * (f0 v0 + s f1 N v0),    N v0 = L v0 - h v0.

``(f0, f1)`` (:func:`phi1_coefficients`) is Horner's rule on the Taylor series
``phi1(Z) = sum_k Z^k / (k + 1)!`` in the algebra ``u I + w (sN)`` where
``(sN)^2 = q I``: start ``u = 1 / K!, w = 0``; for ``k = K - 2 .. 0``:
``(u, w) <- (1 / (k + 1)! + a u + q w,  u + a w)``. The eigenvalues of ``s L``
are ``a +- sqrt(q)``; every sub-step keeps ``|a| + sqrt(|q|) <= RHO = 1.5``
and ``K`` (:func:`series_terms`) makes the truncation error below the
float64 rounding unit for the largest ``|a| + sqrt(|q|)`` of the batch (at
most 21 terms). No branches and no divisions: singular,
nilpotent, rotating and expanding fields all use the same formula.

Integration (per point; state: position ``x``, elapsed time ``t``)
------------------------------------------------------------------
Repeat while ``t < 1`` (at most ``max_iterations`` times):

1. ``R = locate(x)``; ``mu = |h| + sqrt(|delta|)`` of ``R``'s matrix; sub-step
   ``H = min(1 - t, RHO / mu)``. Each rate ``g_j'(s) = grad(g_j) . v(x(s))``
   has the form ``e^{hs} (c1 cosh(rs) + c2 sinh(rs) / r)`` (``r^2 = delta``,
   cosine/sine when ``delta < 0``), so it has at most one zero in ``[0, H]``
   (``sqrt(-delta) H <= 1.5 < pi``): each ``g_j`` has at most one extremum in
   the sub-step.
2. Evaluate ``x(H)``; ``hi = H`` if ``G(H) = max_j g_j(x(H)) > 0``, else
   ``hi = inf``. A constraint with ``g_j(H) <= 0`` and
   ``g_j'(0) > 0 > g_j'(H)`` may graze the boundary unseen. Its maximum is
   at the zero of ``g_j'(s) = e^{hs} (C(s) alpha + S(s) beta)`` (``alpha =
   g_j'(0)``, ``beta = grad(g_j) . N v0``, ``S / C = tanh(rs) / r``, ``tan``
   when ``delta < 0``), in closed form ``s_m = u * atanhc(delta * u^2)`` with
   ``u = -alpha / beta`` and ``atanhc(z) = atanh(sqrt z) / sqrt z`` (``atan``
   for ``z < 0``, series ``1 + z/3 + z^2/5 + ...`` near 0); if
   ``g_j(x(s_m)) > 0`` then ``hi = min(hi, s_m)``. On ``[0, hi]`` each
   ``g_j`` crosses zero at most once and stays positive after, so ``G``
   crosses zero exactly once when ``hi < inf``.
3. No exit (``hi = inf``): ``x <- x(H)``, ``t <- t + H`` (``t = 1`` exactly
   when ``H = 1 - t``).
4. Exit: Newton on ``G(s) = eta`` with derivative ``g_{j(s)}'(s)``
   (``j(s)`` the maximising constraint) inside the bracket ``[lo, hi]``
   (``G(lo) <= 0 < G(hi)``; every evaluated ``s`` with ``G(s) > 0`` becomes
   ``hi``, every other one ``lo``), taking the bisection ``(lo + hi) / 2``
   when the Newton step leaves ``(lo, hi)`` or ``g' <= 0``. Start: the secant
   of ``g_k`` through ``(0, g_k(0))`` and ``(hi, g_k(hi))``, where ``k`` is
   the constraint maximal at ``hi``. Stop when ``0 < G(s) <= 4 eta`` (then
   ``hi = s``) or after ``NEWTON_STEPS``. ``eta = 1e-12`` (local cell units)
   exceeds the rounding of ``G``, so the limit of Newton's iteration is just
   outside ``R``. The exit is the final ``hi``:
   ``x(hi)`` is outside ``R`` (by about ``eta``), and step 1 locates it in
   the next region with no tie to break. The crossed constraint ``j*`` is the
   maximising one at ``hi``; ``x <- x(hi)``, ``t <- t + hi``.

Every iteration records one *event* for the points still integrating: their
indices, the rows of ``A.view(-1, 2, 3)`` used, the elapsed time ``t`` after
the step and the crossed constraint ``j*`` (-1 for none).

Fields that are discontinuous across a region boundary (outside the domain,
for ``A`` that do not satisfy the outside-continuity constraints of
``zero_boundary=False``) may push a trajectory onto the boundary from both
sides (sliding); such a trajectory is not modelled and ends unfinished after
``max_iterations`` (the :class:`~cpabmm.ops.cpab.CPAB` class never creates
this case).

Gradients
---------
The search runs under ``torch.no_grad()``. When gradients are needed, the
flow is recomputed along the events with autograd (from the input points, ``A``
gathered per event), never differentiating the search::

    t_prev = 0
    for each event, for each of its points (row, t_k, j_k):
        x_tau = flow(A[row], x, t_k - t_prev)
        if j_k >= 0:                                  # crossing
            r  = g_j(x_tau)                           # value ~0
            dt = -(r - r.detach()) / detach(g_j'(x_tau))   # value 0
            x, t_prev = x_tau + detach(v(x_tau)) dt, t_k + dt
        else:                                         # sub-step or end
            x, t_prev = x_tau, t_k                    # constant time

so every crossing time carries its implicit-function derivative (exact also
where the field is discontinuous), and sub-step and end times are constants.
``|g_j'|`` is bounded below by ``1e-12`` (sign kept) against tangential
crossings. ``(f0, f1)`` is an autograd Function whose backward runs
the forward-mode derivative of the same Horner recursion.
"""
import math
from typing import Dict, List, NamedTuple, Sequence, Tuple

import torch
from torch import Tensor

from .tessellation import locate_cells

#: Bound on ``|a| + sqrt(|q|)`` (spectral radius of ``s L``) in a sub-step.
RHO = 1.5
#: Newton iterations for an exit time.
NEWTON_STEPS = 16
#: Default bound on iterations (crossings plus sub-steps) per point.
MAX_ITERATIONS = 256
#: Truncation target of the phi1 series.
SERIES_UNIT = 5e-17
#: Exit target level ``eta`` (local cell units): above the rounding of ``g``.
ETA = 1e-12
#: Lower bound of ``|g'|`` in the implicit crossing-time derivative.
RATE_FLOOR = 1e-12

Vec = Tuple[Tensor, Tensor]


def series_terms(radius: float) -> int:
    """Smallest ``K`` with ``radius^K / (K + 1)! <= SERIES_UNIT`` (at least 2)."""
    K = 2
    while radius ** K / math.factorial(K + 1) > SERIES_UNIT and K < 40:
        K += 1
    return K


def locate(points: Tensor, nc: Tuple[int, int]) -> Tensor:
    """Triangle index ``4 * (cy * nx + cx) + k`` of each point ``[..., 2]``."""
    cx, cy, tri = locate_cells(points, nc)
    return 4 * (cy * nc[0] + cx) + tri


def _flatten(A: Tensor, points: Tensor) -> Tuple[Tensor, Tensor, int]:
    """Points as ``[T*P, 2]`` and each one's first row in ``A.view(-1, 2, 3)``."""
    if A.dtype != points.dtype or A.device != points.device:
        raise ValueError(f'A ({A.dtype}, {A.device}) and points ({points.dtype}, '
                         f'{points.device}) must have one dtype and device')
    T, nT = A.shape[:2]
    if points.dim() == 2:
        points = points.unsqueeze(0).expand(T, -1, -1)
    P = points.shape[1]
    offset = torch.arange(T, device=A.device).repeat_interleave(P) * nT
    return points.reshape(T * P, 2), offset, P


def velocity(A: Tensor, points: Tensor, nc: Tuple[int, int]) -> Tensor:
    """Velocity ``[T, P, 2]`` of the field of each ``A[t]`` at the points."""
    T = A.shape[0]
    flat, offset, P = _flatten(A, points)
    M = A.reshape(-1, 2, 3)[offset + locate(flat, nc)]
    v = torch.einsum('nij,nj->ni', M[..., :2], flat) + M[..., 2]
    return v.view(T, P, 2)


# ---------------------------------------------------------------------------
# The affine field of each point's region, and its flow
# ---------------------------------------------------------------------------
class Field(NamedTuple):
    """Per-point affine field ``v = L x + c`` with ``h`` and ``delta``."""
    l00: Tensor
    l01: Tensor
    l10: Tensor
    l11: Tensor
    c0: Tensor
    c1: Tensor
    h: Tensor
    delta: Tensor

    @staticmethod
    def of(M: Tensor) -> 'Field':
        """From matrices ``M [n, 2, 3]``."""
        l00, l01, c0, l10, l11, c1 = M.reshape(-1, 6).unbind(1)
        half_diff = (l00 - l11) / 2
        return Field(l00, l01, l10, l11, c0, c1, (l00 + l11) / 2,
                     half_diff * half_diff + l01 * l10)

    def linear(self, x: Tensor, y: Tensor) -> Vec:
        return self.l00 * x + self.l01 * y, self.l10 * x + self.l11 * y

    def velocity(self, x: Tensor, y: Tensor) -> Vec:
        lx, ly = self.linear(x, y)
        return lx + self.c0, ly + self.c1

    def rate(self) -> Tensor:
        """``|h| + sqrt(|delta|)``: spectral radius bound of ``L``."""
        return self.h.abs() + self.delta.abs().sqrt()


_COEFFICIENTS: Dict[Tuple[torch.dtype, torch.device], List[Tensor]] = {}


def _inverse_factorials(like: Tensor) -> List[Tensor]:
    """``[1/1!, 1/2!, ..., 1/40!]`` as 0-d tensors of ``like``'s type."""
    key = (like.dtype, like.device)
    if key not in _COEFFICIENTS:
        _COEFFICIENTS[key] = [torch.tensor(1.0 / math.factorial(k + 1), dtype=like.dtype,
                                           device=like.device) for k in range(41)]
    return _COEFFICIENTS[key]


def phi1_coefficients(a: Tensor, q: Tensor, terms: int) -> Vec:
    """``(f0, f1)`` with ``phi1(a I + M) = f0 I + f1 M`` for any ``M^2 = q I``."""
    coef = _inverse_factorials(a)
    u = coef[terms - 1].expand_as(a)
    w = torch.zeros_like(a)
    for k in range(terms - 2, -1, -1):
        u, w = torch.addcmul(torch.addcmul(coef[k], a, u), q, w), torch.addcmul(u, a, w)
    return u, w


class _Phi1(torch.autograd.Function):
    """:func:`phi1_coefficients` with the forward-mode derivative of its
    Horner recursion as backward."""

    @staticmethod
    def forward(ctx, a: Tensor, q: Tensor, terms: int):
        ctx.save_for_backward(a, q)
        ctx.terms = terms
        return phi1_coefficients(a, q, terms)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_u: Tensor, grad_w: Tensor):
        a, q = ctx.saved_tensors
        coef = _inverse_factorials(a)
        u = coef[ctx.terms - 1].expand_as(a)
        w = torch.zeros_like(a)
        ua, wa, uq, wq = (torch.zeros_like(a) for _ in range(4))
        for k in range(ctx.terms - 2, -1, -1):
            ua, wa = u + a * ua + q * wa, w + ua + a * wa
            uq, wq = w + a * uq + q * wq, uq + a * wq
            u, w = torch.addcmul(torch.addcmul(coef[k], a, u), q, w), torch.addcmul(u, a, w)
        return grad_u * ua + grad_w * wa, grad_u * uq + grad_w * wq, None


def flow(f: Field, x: Tensor, y: Tensor, s: Tensor, terms: int) -> Vec:
    """Exact flow of the field ``f`` from ``(x, y)`` for times ``s`` (each
    with ``|s| f.rate() <= RHO``); differentiable in all tensors."""
    vx, vy = f.velocity(x, y)
    nx_, ny_ = f.linear(vx, vy)
    nx_, ny_ = nx_ - f.h * vx, ny_ - f.h * vy
    a, q = s * f.h, s * s * f.delta
    if torch.is_grad_enabled():
        f0, f1 = _Phi1.apply(a, q, terms)
    else:
        f0, f1 = phi1_coefficients(a, q, terms)
    sf0, ssf1 = s * f0, s * s * f1
    return (torch.addcmul(torch.addcmul(x, sf0, vx), ssf1, nx_),
            torch.addcmul(torch.addcmul(y, sf0, vy), ssf1, ny_))


# ---------------------------------------------------------------------------
# Region constraints
# ---------------------------------------------------------------------------
class Region(NamedTuple):
    """Per-point region: cell, diagonal signs and ``0 / -inf`` biases that
    switch off the constraints of the domain boundary."""
    cx: Tensor
    cy: Tensor
    sign4: Tensor
    sign5: Tensor
    bias: Tuple[Tensor, Tensor, Tensor, Tensor]

    @staticmethod
    def of_rows(row: Tensor, nc: Tuple[int, int], dtype: torch.dtype) -> 'Region':
        """Regions of rows of ``A.view(-1, 2, 3)``."""
        local = row % (4 * nc[0] * nc[1])
        cx, cy, tri = (local // 4) % nc[0], (local // 4) // nc[0], local % 4
        zero = torch.zeros((), dtype=dtype, device=row.device)
        off = torch.full((), -math.inf, dtype=dtype, device=row.device)
        one = torch.ones((), dtype=dtype, device=row.device)
        bias = (torch.where(cx > 0, zero, off), torch.where(cx < nc[0] - 1, zero, off),
                torch.where(cy > 0, zero, off), torch.where(cy < nc[1] - 1, zero, off))
        return Region(cx.to(dtype), cy.to(dtype),
                      torch.where(tri <= 1, one, -one),
                      torch.where((tri == 0) | (tri == 3), one, -one), bias)

    def values(self, x: Tensor, y: Tensor, nc: Tuple[int, int]) -> List[Tensor]:
        """``[g_0 .. g_5]`` at the points (inactive ones ``-inf``)."""
        lx = x * nc[0] - self.cx
        ly = y * nc[1] - self.cy
        b = self.bias
        return [b[0] - lx, b[1] + (lx - 1), b[2] - ly, b[3] + (ly - 1),
                self.sign4 * (ly - lx), self.sign5 * (ly - (1 - lx))]

    def rates(self, vx: Tensor, vy: Tensor, nc: Tuple[int, int]) -> List[Tensor]:
        """``[d g_j / dt]`` for velocities ``(vx, vy)``."""
        ux, uy = vx * nc[0], vy * nc[1]
        return [-ux, ux, -uy, uy, self.sign4 * (uy - ux), self.sign5 * (uy + ux)]


def _max_constraint(g: Sequence[Tensor], rate: Sequence[Tensor]) -> Tuple[Tensor, Tensor]:
    """``G = max_j g_j`` and the rate ``g_j'`` of the maximising constraint."""
    G, dG = g[0], rate[0]
    for k in range(1, 6):
        larger = g[k] > G
        G = torch.where(larger, g[k], G)
        dG = torch.where(larger, rate[k], dG)
    return G, dG


def _argmax(g: Sequence[Tensor]) -> Tensor:
    """Index of the largest constraint."""
    G, j = g[0], torch.zeros_like(g[0], dtype=torch.long)
    for k in range(1, 6):
        larger = g[k] > G
        G = torch.where(larger, g[k], G)
        j = torch.where(larger, k, j)
    return j


def _choose(values: Sequence[Tensor], j: Tensor) -> Tensor:
    out = values[0]
    for k in range(1, 6):
        out = torch.where(j == k, values[k], out)
    return out


# ---------------------------------------------------------------------------
# Search (no autograd)
# ---------------------------------------------------------------------------
class Event(NamedTuple):
    """One iteration of the points still integrating."""
    points: Tensor    # [n] indices of those points
    rows: Tensor      # [n] row of A.view(-1, 2, 3) used
    times: Tensor     # [n] elapsed time at the end of the step
    crossed: Tensor   # [n] crossed constraint, -1 if none


def _row_table(A_rows: Tensor, nc: Tuple[int, int]) -> Tensor:
    """``[17, R]`` per row of ``A.view(-1, 2, 3)``: its :class:`Field` (8),
    the longest sub-step ``RHO / rate`` (inf for a zero linear part) and its
    :class:`Region` (8), so that one gather gives a point everything."""
    f = Field.of(A_rows)
    reg = Region.of_rows(torch.arange(A_rows.shape[0], device=A_rows.device), nc,
                         A_rows.dtype)
    return torch.stack([*f, RHO / f.rate(), reg.cx, reg.cy, reg.sign4, reg.sign5,
                        *reg.bias], 0)


class _Segment:
    """Points starting a sub-step: ``[19, n]`` = table column, then x, y
    (feature-major, so that every quantity is a contiguous vector)."""

    def __init__(self, packed: Tensor):
        self.packed = packed
        cols = packed.unbind(0)
        self.f = Field(*cols[:8])
        self.max_step = cols[8]
        self.reg = Region(*cols[9:13], tuple(cols[13:17]))
        self.x, self.y = cols[17], cols[18]

    def select(self, idx: Tensor) -> '_Segment':
        return _Segment(self.packed.index_select(1, idx))

    def at(self, s: Tensor, terms: int) -> Vec:
        return flow(self.f, self.x, self.y, s, terms)


def _atanhc(z: Tensor) -> Tensor:
    """``atanh(sqrt(z)) / sqrt(z)`` for ``0 <= z < 1``, ``atan(sqrt(-z)) / sqrt(-z)``
    for ``z < 0`` (both ``sum_k z^k / (2k + 1)``)."""
    small = z.abs() < 1e-3
    zs = torch.where(small, torch.ones_like(z), z)
    root = zs.abs().sqrt()
    closed = torch.where(zs > 0, torch.atanh(root.clamp(max=1 - 1e-16)),
                         torch.atan(root)) / root
    series = 1 + z * (1 / 3 + z * (1 / 5 + z * (1 / 7 + z / 9)))
    return torch.where(small, series, closed)


def _graze_limit(seg: _Segment, nc, H: Tensor, g_end: Tensor, rate0: Tensor,
                 rate_end: Tensor, terms: int):
    """Smallest time ``s_m`` (inf if none) at which a constraint reaches a
    positive interior maximum, and ``x(s_m)``; ``g_end``, ``rate0`` and
    ``rate_end`` are ``[6, n]``.

    ``g_j'(s) = e^{hs} (C(s) alpha + S(s) beta)`` with ``alpha = g_j'(0)``,
    ``beta = grad(g_j) . N v0``, ``S / C = tanh(rs) / r`` (``r^2 = delta``;
    ``tan`` when ``delta < 0``), so its zero is
    ``s_m = u * atanhc(delta u^2)`` with ``u = -alpha / beta``.
    """
    hi = torch.full_like(H, math.inf)
    hx, hy = seg.x.clone(), seg.y.clone()
    pj, pi = ((g_end <= 0) & (rate0 > 0) & (rate_end < 0)).nonzero(as_tuple=True)
    if pi.numel() == 0:
        return hi, hx, hy
    f = seg.f
    vx, vy = f.velocity(seg.x, seg.y)
    nvx, nvy = f.linear(vx, vy)
    beta = torch.stack(seg.reg.rates(nvx - f.h * vx, nvy - f.h * vy, nc), 0)
    u = -rate0[pj, pi] / beta[pj, pi]
    sub = seg.select(pi)
    s = torch.minimum((u * _atanhc(sub.f.delta * u * u)).clamp(min=0.0), H[pi])
    xs, ys = sub.at(s, terms)
    g = _choose(sub.reg.values(xs, ys, nc), pj)
    s = torch.where(g > 0, s, torch.full_like(s, math.inf))
    hi = hi.scatter_reduce(0, pi, s, 'amin')
    win = torch.isfinite(s) & (s == hi[pi])
    hx[pi[win]], hy[pi[win]] = xs[win], ys[win]
    return hi, hx, hy


def _exit_time(seg: _Segment, nc, hi: Tensor, hx: Tensor, hy: Tensor, terms: int):
    """Exit time (the final bracket end ``hi``, ``G(x(hi)) > 0``), ``x(hi)``
    and the crossed constraint, by safeguarded Newton on ``G(s) = eta``.
    Converged points leave the batch, so stragglers cost only themselves."""
    region = seg.reg
    g_hi = region.values(hx, hy, nc)
    k = _argmax(g_hi)
    # start: secant of the constraint k that is largest at hi
    g0 = _choose(seg.reg.values(seg.x, seg.y, nc), k).nan_to_num(neginf=-1.0)
    g1 = _choose(g_hi, k)
    s = hi * ((ETA - g0) / (g1 - g0)).clamp(0.0, 1.0)
    out_s, out_x, out_y = hi.clone(), hx.clone(), hy.clone()
    idx = torch.arange(hi.numel(), device=hi.device)
    lo = torch.zeros_like(hi)
    for _ in range(NEWTON_STEPS):
        xs, ys = seg.at(s, terms)
        G, dG = _max_constraint(seg.reg.values(xs, ys, nc),
                                seg.reg.rates(*seg.f.velocity(xs, ys), nc))
        out = G > 0
        hi, lo = torch.where(out, s, hi), torch.where(out, lo, s)
        hx, hy = torch.where(out, xs, hx), torch.where(out, ys, hy)
        done = out & (G <= 4 * ETA)
        step = s - (G - ETA) / dG
        newton = (dG > 0) & (step > lo) & (step < hi)
        s = torch.where(newton, step, (lo + hi) / 2)
        if bool(done.any()):
            fin = done.nonzero()[:, 0]
            out_s[idx[fin]], out_x[idx[fin]], out_y[idx[fin]] = hi[fin], hx[fin], hy[fin]
            keep = (~done).nonzero()[:, 0]
            if keep.numel() == 0:
                break
            idx, s, lo, hi, hx, hy = (t[keep] for t in (idx, s, lo, hi, hx, hy))
            seg = seg.select(keep)
    else:   # NEWTON_STEPS reached: the last bracket end is still outside
        out_s[idx], out_x[idx], out_y[idx] = hi, hx, hy
    crossed = _argmax(region.values(out_x, out_y, nc))
    return out_s, out_x, out_y, crossed


def _step(table: Tensor, offset: Tensor, x: Tensor, y: Tensor, t: Tensor,
          nc: Tuple[int, int]):
    """One iteration for a batch of live points: new state and event."""
    cx, cy, tri = locate_cells(torch.stack([x, y], 1), nc)
    row = offset + 4 * (cy * nc[0] + cx) + tri
    seg = _Segment(torch.cat([table.index_select(1, row), x[None], y[None]], 0))
    remaining = 1 - t
    last = seg.max_step >= remaining
    H = torch.where(last, remaining, seg.max_step)
    terms = series_terms(float((H * seg.f.rate()).max()))
    ex, ey = seg.at(H, terms)
    g_end = seg.reg.values(ex, ey, nc)
    g_end = torch.stack(g_end, 0)
    hi, hx, hy = _graze_limit(
        seg, nc, H, g_end, torch.stack(seg.reg.rates(*seg.f.velocity(x, y), nc), 0),
        torch.stack(seg.reg.rates(*seg.f.velocity(ex, ey), nc), 0), terms)
    use_end = (g_end.amax(0) > 0) & ~(hi < H)
    hi = torch.where(use_end, H, hi)
    hx, hy = torch.where(use_end, ex, hx), torch.where(use_end, ey, hy)

    new_t = torch.where(last, torch.ones_like(t), t + H)
    crossed = torch.full_like(row, -1)
    exits = torch.isfinite(hi).nonzero()[:, 0]
    if exits.numel():
        s, sx, sy, j = _exit_time(seg.select(exits), nc, hi[exits], hx[exits],
                                  hy[exits], terms)
        ex, ey = ex.index_copy(0, exits, sx), ey.index_copy(0, exits, sy)
        new_t = new_t.index_copy(0, exits, t[exits] + s)
        crossed = crossed.index_copy(0, exits, j)
    return ex, ey, new_t, row, crossed


@torch.no_grad()
def search(A_rows: Tensor, points: Tensor, offset: Tensor, nc: Tuple[int, int],
           max_iterations: int = MAX_ITERATIONS) -> Tuple[Tensor, List[Event], int]:
    """Integrate every point to time 1 (no autograd).

    Args:
        A_rows: ``A.view(-1, 2, 3)``, float64.
        points: ``[N, 2]``, float64; ``offset [N]``: first row of each
            point's ``A[t]``.

    Returns:
        End points ``[N, 2]``, the events and the number of points left
        unfinished (0 unless ``max_iterations`` is reached or a trajectory
        overflows).
    """
    table = _row_table(A_rows, nc)
    x, y = points[:, 0].clone(), points[:, 1].clone()
    t = torch.zeros_like(x)
    events = []
    live = torch.arange(points.shape[0], device=points.device)
    for _ in range(max_iterations):
        if live.numel() == 0:
            break
        nx_, ny_, nt, row, j = _step(table, offset[live], x[live], y[live], t[live], nc)
        x[live], y[live], t[live] = nx_, ny_, nt
        events.append(Event(live, row, nt, j))
        # a trajectory that overflowed (absurd fields) stops where it is
        live = live[(nt < 1) & torch.isfinite(nx_) & torch.isfinite(ny_)]
    return torch.stack([x, y], 1), events, int((t < 1).sum())


# ---------------------------------------------------------------------------
# Autograd recomputation
# ---------------------------------------------------------------------------
#: Crossed constraint ``j`` as ``g_j = a lx + b ly + c`` (before the
#: diagonal signs of ``j = 4, 5``); row 6 (``j = -1``, no crossing) is zero.
_CONSTRAINT_COEFFICIENTS = ((-1, 0, 0), (1, 0, -1), (0, -1, 0), (0, 1, -1),
                            (-1, 1, 0), (1, 1, -1), (0, 0, 0))


def _crossed_constraint(table: Tensor, row: Tensor, j: Tensor):
    """Coefficients ``(a, b, c)`` of the crossed constraint ``g_j`` of each
    point, in local cell coordinates, and the cell ``(cx, cy)``."""
    coef = torch.tensor(_CONSTRAINT_COEFFICIENTS, dtype=table.dtype,
                        device=table.device)[j]                     # j = -1: last row
    reg = table[9:13].index_select(1, row)                           # cx, cy, sign4, sign5
    sign = torch.where(j == 4, reg[2], torch.where(j == 5, reg[3], torch.ones_like(reg[2])))
    return coef * sign[:, None], reg[0], reg[1]


def replay(A_rows: Tensor, points: Tensor, events: List[Event],
           nc: Tuple[int, int]) -> Tensor:
    """Recompute the flow along ``events`` with autograd (see module doc)."""
    table = _row_table(A_rows.detach(), nc)
    fields = A_rows.reshape(-1, 6).T                  # [6, R], rows l00 l01 c0 l10 l11 c1
    x, y = points[:, 0], points[:, 1]
    t_prev = torch.zeros_like(x.detach())
    for idx, row, t_end, j in events:
        l00, l01, c0, l10, l11, c1 = fields.index_select(1, row).unbind(0)
        half_diff = (l00 - l11) / 2
        f = Field(l00, l01, l10, l11, c0, c1, (l00 + l11) / 2,
                  half_diff * half_diff + l01 * l10)
        s = t_end - t_prev[idx]
        terms = series_terms(float((s.detach().abs() * f.rate().detach()).max()))
        xs, ys = flow(f, x[idx], y[idx], s, terms)
        t_new = t_end
        crossing = j >= 0
        if bool(crossing.any()):
            coef, cx, cy = _crossed_constraint(table, row, j)
            r = (coef[:, 0] * (xs * nc[0] - cx) + coef[:, 1] * (ys * nc[1] - cy)
                 + coef[:, 2])
            vx, vy = (v.detach() for v in f.velocity(xs, ys))
            den = coef[:, 0] * nc[0] * vx + coef[:, 1] * nc[1] * vy
            den = torch.where(den.abs() < RATE_FLOOR,
                              torch.copysign(torch.full_like(den, RATE_FLOOR), den), den)
            dt = (r.detach() - r) / den                # value 0; 0 without crossing
            xs, ys, t_new = xs + vx * dt, ys + vy * dt, t_end + dt
        x, y = x.index_put((idx,), xs), y.index_put((idx,), ys)
        t_prev = t_prev.index_put((idx,), t_new)
    return torch.stack([x, y], 1)


def integrate(A: Tensor, points: Tensor, nc: Tuple[int, int],
              max_iterations: int = MAX_ITERATIONS, return_stats: bool = False):
    """Flow at time 1 of the velocity field of each ``A[t]`` ``[T, nT, 2, 3]``.

    Args:
        A: per-triangle matrices.
        points: ``[P, 2]`` or ``[T, P, 2]``.
        nc: cells ``(nx, ny)``.
        max_iterations: bound on region crossings plus sub-steps per point.
        return_stats: also return ``{'iterations': S, 'unfinished': n}``.

    Returns:
        ``[T, P, 2]`` transformed points in the inputs' dtype, differentiable
        in ``A`` and ``points`` (and the statistics when asked for). The
        computation is in float64 whatever the dtype: float32 positions near
        a cell line are too coarse (``ulp(0.75) = 6e-8``) for trajectories
        that approach the line asymptotically, which can amplify the rounding
        to 1e-4 and more.
    """
    T = A.shape[0]
    flat, offset, P = _flatten(A, points)
    if flat.shape[0] == 0:
        out = flat + 0 * A.sum()
        return (out.view(T, P, 2), {'iterations': 0, 'unfinished': 0}) \
            if return_stats else out.view(T, P, 2)
    A_rows = A.reshape(-1, 2, 3).to(torch.float64)
    flat64 = flat.to(torch.float64)
    out, events, unfinished = search(A_rows.detach(), flat64.detach(), offset, nc,
                                     max_iterations)
    if torch.is_grad_enabled() and (A.requires_grad or points.requires_grad):
        out = replay(A_rows, flat64, events, nc)
    out = out.to(A.dtype).view(T, P, 2)
    if return_stats:
        return out, {'iterations': len(events), 'unfinished': unfinished}
    return out
