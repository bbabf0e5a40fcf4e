"""Pure-PyTorch CPAB velocity and integration (the reference path).

Everything here is a function of the per-triangle matrices ``A [T, nT, 2, 3]``
(``A = (basis @ theta).view(T, nT, 2, 3)``); points are ``[P, 2]`` (shared by
all T transformations) or ``[T, P, 2]``, x first. ``nc = (nx, ny)``.

Regions
-------
:func:`locate` assigns a point to the triangle ``4 * (cy * nx + cx) + k`` of
the clamped cell ``(cx, cy) = clamp(floor(x nx), floor(y ny))``, with ``k``
chosen from the unclamped local coordinates ``lx = x nx - cx``,
``ly = y ny - cy`` (see :mod:`.tessellation`). The region of triangle
``(cx, cy, k)`` is therefore the set of points satisfying every *active*
constraint ``g_j <= 0`` of::

    j=0: -lx      <= 0   (active if cx > 0)        crossing it: cell cx - 1
    j=1:  lx - 1  <= 0   (active if cx < nx - 1)   crossing it: cell cx + 1
    j=2: -ly      <= 0   (active if cy > 0)
    j=3:  ly - 1  <= 0   (active if cy < ny - 1)
    j=4:  s4 (ly - lx)       <= 0,  s4 = +1 for bottom/right, -1 for top/left
    j=5:  s5 (ly - (1 - lx)) <= 0,  s5 = +1 for bottom/left, -1 for right/top

computed with exactly the same floating-point expressions as :func:`locate`,
so that ``locate(x)`` always satisfies its own constraints and a point with
``g_j > 0`` for a region is never located in that region. Boundary regions
drop the constraints of the domain boundary and extend to infinity.

Flow inside one region
----------------------
With ``v(x) = L x + c`` (``A = [L | c]``), the exact flow for a time ``s`` is::

    x(s) = x0 + s * phi1(s L) v0,      v0 = L x0 + c,  phi1(z) = (e^z - 1) / z.

Write ``L = h I + N`` with ``h = tr(L) / 2``, so ``N^2 = delta I`` with
``delta = h^2 - det(L)``. For ``Z = s L``, ``a = s h`` and ``q = s^2 delta``,
``phi1(Z) = f0(a, q) I + f1(a, q) s N``, and::

    x(s) = x0 + s * (f0 v0 + s f1 N v0).

``f0, f1`` are evaluated by Horner's rule on the Taylor series
``phi1(Z) = sum_k Z^k / (k + 1)!`` in the 2-term algebra ``u I + w sN``:
start ``u = 1 / (K + 1)!, w = 0``; for ``k = K-1 .. 0``:
``(u, w) <- (1 / (k + 1)! + a u + q w,  u + a w)``. The eigenvalues of ``Z``
are ``a +- sqrt(q)``; every sub-step keeps ``|a| + sqrt(|q|) <= RHO`` (1.5),
so ``K = 20`` terms (float64) or ``K = 12`` (float32) reach machine
precision. No branches, no divisions: singular, nilpotent, rotating and
expanding fields are all handled by the same formula.

Integration algorithm (per point; state: position ``x``, elapsed time ``t``)
---------------------------------------------------------------------------
Repeat while ``t < 1`` (at most ``max_iterations`` times):

1. ``R = locate(x)``; ``mu = |h| + sqrt(|delta|)`` of ``R``'s matrix; sub-step
   ``H = min(1 - t, RHO / mu)``. Because the rotation rate of the field is
   at most ``sqrt(|delta|)``, every ``g_j'(s) = grad(g_j) . v(x(s))`` (of the
   form ``e^{as}(c1 cosh bs + c2 sinh bs)`` or ``e^{as}(c1 cos ws + c2 sin ws)``
   with ``wH <= 1.5 < pi``) has at most one zero in ``[0, H]``; hence each
   ``g_j`` has at most one extremum in the sub-step.
2. Evaluate ``x(H)``, ``v(H)``, and ``g_j``, ``g_j'`` at ``0`` and ``H``.
   The exit bracket end is ``hi = H`` if ``G(H) = max_j g_j(H) > 0``.
   A constraint with ``g_j(H) <= 0``, ``g_j'(0) > 0 > g_j'(H)`` may graze: its
   maximum ``s_m`` (the zero of ``g_j'``) is found by safeguarded Newton on
   ``g_j'`` (``g_j'' = grad(g_j) . L v``); if ``g_j(s_m) > 0`` then
   ``hi = min(hi, s_m)``. On ``[0, hi]`` every ``g_j`` crosses zero at most once
   and stays positive afterwards, so ``G`` has a single crossing.
3. No exit: ``x <- x(H)``, ``t <- t + H`` (``t = 1`` exactly for the last one).
4. Exit: solve ``G(s) = eta`` by Newton's method safeguarded by bisection on
   the bracket ``[lo, hi]`` (``G(lo) <= 0 < G(hi)``), ``eta`` a few rounding
   units (``1e-12`` float64, ``4e-6`` float32, in local cell units), until the
   step is below ``1e-14`` (float64) / ``1e-7`` (float32) or after
   ``NEWTON_STEPS``. The exit time is the final ``hi``: the point ``x(hi)``
   lies (by at most ``eta``) outside ``R``, so step 1 locates it in the next
   region without any tie-breaking. Record the crossed constraint
   ``j* = argmax_j g_j(x(hi))``; ``x <- x(hi)``, ``t <- t + hi``.

Each iteration appends one *event* per point: (triangle, end time ``t``,
crossed constraint ``j*`` or -1). Finished points append identity events.

Gradients
---------
The search runs under ``torch.no_grad()``. With gradients required, the flow
is recomputed along the recorded events with autograd (``x`` from the input
points, ``A`` gathered per event), never differentiating the search::

    for each event (triangle, t_k, j_k):
        x_tau = flow(x, A[triangle], t_k - t_prev)
        if j_k >= 0 (crossing):
            r   = g_j(x_tau)                   # ~0; depends on theta and points
            dt  = -(r - r.detach()) / detach(g_j'(x_tau))   # value 0
            x   = x_tau + detach(v(x_tau)) * dt
            t_prev = t_k + dt                  # implicit-function derivative
        else:
            x, t_prev = x_tau, t_k             # constant sub-step/end times

so each crossing time carries its exact implicit derivative. ``f0, f1`` are
an autograd Function whose backward runs the forward-mode derivatives of the
same Horner recursion (``du/da = u + a du_a + q dw_a`` ...).
"""
import math
from typing import List, NamedTuple, Optional, Tuple

import torch

from .tessellation import locate_cells

#: Bound on ``|a| + sqrt(|q|)`` (eigenvalues of ``s L``) within one sub-step.
RHO = 1.5
#: Newton iterations for an exit time / a grazing maximum.
NEWTON_STEPS = 16
GRAZE_STEPS = 8
#: Default bound on loop iterations (crossings plus sub-steps) per point.
MAX_ITERATIONS = 256


class _Precision(NamedTuple):
    terms: int        # Horner terms of the phi1 series
    eta: float        # exit target level in local cell units
    step_tol: float   # Newton convergence in time
    den_floor: float  # lower bound of |g'| in the implicit derivative


def _precision(dtype: torch.dtype) -> _Precision:
    if dtype == torch.float64:
        return _Precision(terms=20, eta=1e-12, step_tol=1e-14, den_floor=1e-12)
    return _Precision(terms=12, eta=4e-6, step_tol=1e-7, den_floor=1e-6)


def locate(points: torch.Tensor, nc: Tuple[int, int]) -> torch.Tensor:
    """Triangle index (0 .. 4 nx ny - 1) of each point ``[..., 2]``."""
    cx, cy, tri = locate_cells(points, nc)
    return 4 * (cy * nc[0] + cx) + tri


def _batched(A: torch.Tensor, points: torch.Tensor
             ) -> Tuple[torch.Tensor, torch.Tensor, int]:
    """Flatten ``points`` to ``[T*P, 2]`` and give each its row offset in
    ``A.view(T*nT, 2, 3)``."""
    T, nT = A.shape[:2]
    if points.dim() == 2:
        points = points.unsqueeze(0).expand(T, -1, -1)
    P = points.shape[1]
    offset = torch.arange(T, device=A.device).repeat_interleave(P) * nT
    return points.reshape(T * P, 2), offset, P


def _apply(A: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``A [n, 2, 3]`` applied to points ``x [n, 2]`` in homogeneous form."""
    return torch.einsum('nij,nj->ni', A[..., :2], x) + A[..., 2]


def velocity(A: torch.Tensor, points: torch.Tensor,
             nc: Tuple[int, int]) -> torch.Tensor:
    """Velocity ``[T, P, 2]`` of the field of each ``A[t]`` at the points."""
    T = A.shape[0]
    flat, offset, P = _batched(A, points)
    rows = offset + locate(flat, nc)
    v = _apply(A.reshape(-1, 2, 3)[rows], flat)
    return v.view(T, P, 2)


# ---------------------------------------------------------------------------
# phi1 coefficients
# ---------------------------------------------------------------------------
def _inv_factorials(terms: int) -> List[float]:
    return [1.0 / math.factorial(k + 1) for k in range(terms)]


def phi1_coefficients(a: torch.Tensor, q: torch.Tensor, terms: int
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(f0, f1)`` with ``phi1(a I + M) = f0 I + f1 M`` for ``M^2 = q I``."""
    coef = _inv_factorials(terms)
    u = torch.full_like(a, coef[-1])
    w = torch.zeros_like(a)
    for k in range(terms - 2, -1, -1):
        u, w = coef[k] + a * u + q * w, u + a * w
    return u, w


class _Phi1(torch.autograd.Function):
    """Autograd wrapper of :func:`phi1_coefficients` with an analytic backward
    (forward-mode derivatives of the Horner recursion)."""

    @staticmethod
    def forward(ctx, a, q, terms: int):
        ctx.save_for_backward(a, q)
        ctx.terms = terms
        return phi1_coefficients(a, q, terms)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_u, grad_w):
        a, q = ctx.saved_tensors
        coef = _inv_factorials(ctx.terms)
        u = torch.full_like(a, coef[-1])
        w = torch.zeros_like(a)
        ua, wa, uq, wq = (torch.zeros_like(a) for _ in range(4))
        for k in range(ctx.terms - 2, -1, -1):
            ua, wa = u + a * ua + q * wa, w + ua + a * wa
            uq, wq = w + a * uq + q * wq, uq + a * wq
            u, w = coef[k] + a * u + q * w, u + a * w
        return grad_u * ua + grad_w * wa, grad_u * uq + grad_w * wq, None


def _field_terms(A: torch.Tensor):
    """Split ``A [n, 2, 3]`` into ``L``, ``c``, half trace and ``delta``."""
    L, c = A[..., :2], A[..., 2]
    half_trace = (L[..., 0, 0] + L[..., 1, 1]) / 2
    half_diff = (L[..., 0, 0] - L[..., 1, 1]) / 2
    delta = half_diff * half_diff + L[..., 0, 1] * L[..., 1, 0]
    return L, c, half_trace, delta


def flow(A: torch.Tensor, x: torch.Tensor, s: torch.Tensor,
         terms: int) -> torch.Tensor:
    """Exact flow of the affine field ``A [n, 2, 3]`` from ``x [n, 2]`` for
    times ``s [n]`` (``|s| (|h| + sqrt|delta|) <= RHO``); differentiable."""
    L, c, half_trace, delta = _field_terms(A)
    v0 = _apply(A, x)
    n_v0 = torch.einsum('nij,nj->ni', L, v0) - half_trace[:, None] * v0
    if torch.is_grad_enabled() and any(
            t.requires_grad for t in (A, x, s)):
        f0, f1 = _Phi1.apply(s * half_trace, s * s * delta, terms)
    else:
        f0, f1 = phi1_coefficients(s * half_trace, s * s * delta, terms)
    return x + s[:, None] * (f0[:, None] * v0 + (s * f1)[:, None] * n_v0)


# ---------------------------------------------------------------------------
# Region constraints
# ---------------------------------------------------------------------------
class _Region(NamedTuple):
    cx: torch.Tensor      # [n] float cell column
    cy: torch.Tensor
    sign4: torch.Tensor   # [n] +-1
    sign5: torch.Tensor
    active: torch.Tensor  # [n, 6] bool


def _region(cx: torch.Tensor, cy: torch.Tensor, tri: torch.Tensor,
            nc: Tuple[int, int], dtype: torch.dtype) -> _Region:
    nx, ny = nc
    one = torch.ones((), dtype=dtype, device=cx.device)
    sign4 = torch.where(tri <= 1, one, -one)                  # bottom, right
    sign5 = torch.where((tri == 0) | (tri == 3), one, -one)   # bottom, left
    true = torch.ones_like(cx, dtype=torch.bool)
    active = torch.stack([cx > 0, cx < nx - 1, cy > 0, cy < ny - 1, true, true], 1)
    return _Region(cx.to(dtype), cy.to(dtype), sign4, sign5, active)


def _constraints(x: torch.Tensor, reg: _Region, nc: Tuple[int, int]) -> torch.Tensor:
    """``g_j(x)`` ``[n, 6]`` (same expressions as :func:`locate_cells`);
    inactive constraints are ``-inf``."""
    lx = x[:, 0] * nc[0] - reg.cx
    ly = x[:, 1] * nc[1] - reg.cy
    g = torch.stack([-lx, lx - 1, -ly, ly - 1,
                     reg.sign4 * (ly - lx), reg.sign5 * (ly - (1 - lx))], 1)
    return g.masked_fill(~reg.active, -math.inf)


def _constraint_rates(v: torch.Tensor, reg: _Region, nc: Tuple[int, int]) -> torch.Tensor:
    """``d g_j / dt`` ``[n, 6]`` for velocities ``v [n, 2]``."""
    vx = v[:, 0] * nc[0]
    vy = v[:, 1] * nc[1]
    return torch.stack([-vx, vx, -vy, vy,
                        reg.sign4 * (vy - vx), reg.sign5 * (vy + vx)], 1)


def _pick(values: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    return values.gather(1, j[:, None])[:, 0]


# ---------------------------------------------------------------------------
# Search (no autograd)
# ---------------------------------------------------------------------------
class _Events(NamedTuple):
    rows: torch.Tensor        # [S, N] row of A.view(-1, 2, 3)
    times: torch.Tensor       # [S, N] elapsed time at the end of the event
    crossed: torch.Tensor     # [S, N] crossed constraint, -1 if none


def _graze_limit(A, x0, reg, nc, H, g_end, rate0, rate_end, prec):
    """Upper bracket ends ``s_m`` (or inf) for constraints that may graze.

    Returns ``(hi [n], x_hi [n, 2])``: the smallest ``s_m`` in ``(0, H)``
    where a constraint with an interior maximum is positive.
    """
    n = x0.shape[0]
    hi = torch.full_like(H, math.inf)
    x_hi = x0.clone()
    graze = (g_end <= 0) & (rate0 > 0) & (rate_end < 0)
    for j in range(6):
        sel = graze[:, j].nonzero()[:, 0]
        if sel.numel() == 0:
            continue
        Aj, xj, regj = A[sel], x0[sel], _Region(*(f[sel] for f in reg))
        L = Aj[..., :2]
        lo, up = torch.zeros_like(H[sel]), H[sel].clone()
        s = up / 2
        for _ in range(GRAZE_STEPS):
            xs = flow(Aj, xj, s, prec.terms)
            vs = _apply(Aj, xs)
            f = _constraint_rates(vs, regj, nc)[:, j]
            df = _constraint_rates(torch.einsum('nij,nj->ni', L, vs), regj, nc)[:, j]
            lo = torch.where(f > 0, s, lo)
            up = torch.where(f > 0, up, s)
            step = s - f / df
            s = torch.where((step > lo) & (step < up) & (df < 0), step, (lo + up) / 2)
        xs = flow(Aj, xj, s, prec.terms)
        hit = _constraints(xs, regj, nc)[:, j] > 0
        better = hit & (s < hi[sel])
        hi[sel] = torch.where(better, s, hi[sel])
        x_hi[sel] = torch.where(better[:, None], xs, x_hi[sel])
    return hi, x_hi


def _exit_time(A, x0, reg, nc, hi, x_hi, prec):
    """Exit time bracket end ``hi`` (``G(x(hi)) > 0``), ``x(hi)`` and the
    crossed constraint, by safeguarded Newton on ``G(s) = eta``."""
    L = A[..., :2]
    lo = torch.zeros_like(hi)
    g_hi = _constraints(x_hi, reg, nc)
    G_hi, _ = g_hi.max(1)
    # first iterate: secant through (0, G(0)) and (hi, G(hi))
    G0, _ = _constraints(x0, reg, nc).max(1)
    s = hi * ((prec.eta - G0) / (G_hi - G0)).clamp(0.0, 1.0)
    s = torch.where(s > 0, s, hi / 2)
    for _ in range(NEWTON_STEPS):
        xs = flow(A, x0, s, prec.terms)
        g = _constraints(xs, reg, nc)
        G, j = g.max(1)
        out = G > 0
        hi = torch.where(out, s, hi)
        x_hi = torch.where(out[:, None], xs, x_hi)
        lo = torch.where(out, lo, s)
        dG = _pick(_constraint_rates(_apply(A, xs), reg, nc), j)
        step = s - (G - prec.eta) / dG
        newton = (step > lo) & (step <= hi) & torch.isfinite(step)
        nxt = torch.where(newton, step, (lo + hi) / 2)
        done = (nxt - s).abs() <= prec.step_tol
        s = nxt
        if bool(done.all()):
            break
    # the converged iterate has G ~ eta > 0; make sure x_hi is the last
    # point with G > 0 (the final iterate may not have been evaluated)
    xs = flow(A, x0, s, prec.terms)
    G, _ = _constraints(xs, reg, nc).max(1)
    use = (G > 0) & (s < hi)
    hi = torch.where(use, s, hi)
    x_hi = torch.where(use[:, None], xs, x_hi)
    crossed = _constraints(x_hi, reg, nc).argmax(1)
    return hi, x_hi, crossed


@torch.no_grad()
def _search(A_rows: torch.Tensor, x: torch.Tensor, offset: torch.Tensor,
            nc: Tuple[int, int], max_iterations: int) -> Tuple[torch.Tensor, _Events, int]:
    """Integrate to time 1; return the end points, the events and the
    number of points left unfinished (0 unless ``max_iterations`` is hit)."""
    prec = _precision(x.dtype)
    _, _, half_trace, delta = _field_terms(A_rows)
    rate = half_trace.abs() + delta.abs().sqrt()
    max_step = RHO / rate          # inf for a zero linear part
    N = x.shape[0]
    x = x.clone()
    t = torch.zeros(N, dtype=x.dtype, device=x.device)
    last_row = torch.zeros(N, dtype=torch.long, device=x.device)
    rows, times, crossed = [], [], []
    live = torch.arange(N, device=x.device)
    for _ in range(max_iterations):
        if live.numel() == 0:
            break
        x0, t0 = x[live], t[live]
        cx, cy, tri = locate_cells(x0, nc)
        row = offset[live] + 4 * (cy * nc[0] + cx) + tri
        A = A_rows[row]
        reg = _region(cx, cy, tri, nc, x.dtype)
        remaining = 1 - t0
        last = max_step[row] >= remaining
        H = torch.where(last, remaining, max_step[row])
        x_end = flow(A, x0, H, prec.terms)
        g_end = _constraints(x_end, reg, nc)
        rate0 = _constraint_rates(_apply(A, x0), reg, nc)
        rate_end = _constraint_rates(_apply(A, x_end), reg, nc)
        hi, x_hi = _graze_limit(A, x0, reg, nc, H, g_end, rate0, rate_end, prec)
        leaves = g_end.max(1).values > 0
        use_end = leaves & ~(hi < H)
        hi = torch.where(use_end, H, hi)
        x_hi = torch.where(use_end[:, None], x_end, x_hi)
        exits = torch.isfinite(hi).nonzero()[:, 0]

        new_x, new_t = x_end, torch.where(last, torch.ones_like(t0), t0 + H)
        cross = torch.full_like(row, -1)
        if exits.numel():
            s, xs, j = _exit_time(A[exits], x0[exits], _Region(*(f[exits] for f in reg)),
                                  nc, hi[exits], x_hi[exits], prec)
            new_x = new_x.index_copy(0, exits, xs)
            new_t = new_t.index_copy(0, exits, t0[exits] + s)
            cross = cross.index_copy(0, exits, j)
        x[live], t[live] = new_x, new_t
        last_row[live] = row
        ev_t = t.clone()
        ev_row = last_row.clone()
        ev_j = torch.full_like(last_row, -1)
        ev_j[live] = cross
        rows.append(ev_row)
        times.append(ev_t)
        crossed.append(ev_j)
        live = live[new_t < 1]
    events = _Events(torch.stack(rows), torch.stack(times), torch.stack(crossed))
    return x, events, int(live.numel())


# ---------------------------------------------------------------------------
# Autograd recomputation
# ---------------------------------------------------------------------------
def _replay(A_rows: torch.Tensor, x: torch.Tensor, events: _Events,
            nc: Tuple[int, int]) -> torch.Tensor:
    """Recompute the flow along the recorded events with autograd."""
    prec = _precision(x.dtype)
    t_prev = torch.zeros_like(x[:, 0])
    for row, t_end, j in zip(*events):
        A = A_rows[row]
        x_tau = flow(A, x, t_end - t_prev, prec.terms)
        crossing = j >= 0
        if not bool(crossing.any()):
            x, t_prev = x_tau, t_end
            continue
        cx, cy, tri = _row_cells(row, nc)
        reg = _region(cx, cy, tri, nc, x.dtype)
        jj = j.clamp(min=0)
        r = _pick(_constraints(x_tau, reg, nc).nan_to_num(neginf=0.0), jj)
        v_tau = _apply(A, x_tau).detach()
        den = _pick(_constraint_rates(v_tau, reg, nc), jj)
        den = torch.where(den.abs() < prec.den_floor,
                          torch.copysign(torch.full_like(den, prec.den_floor), den), den)
        dt = torch.where(crossing, -(r - r.detach()) / den, torch.zeros_like(r))
        x = x_tau + v_tau * dt[:, None]
        t_prev = t_end + dt
    return x


def _row_cells(row: torch.Tensor, nc: Tuple[int, int]):
    """Cell column, row and triangle of rows of ``A.view(-1, 2, 3)``."""
    local = row % (4 * nc[0] * nc[1])
    tri = local % 4
    cell = local // 4
    return cell % nc[0], cell // nc[0], tri


def integrate(A: torch.Tensor, points: torch.Tensor, nc: Tuple[int, int],
              max_iterations: int = MAX_ITERATIONS,
              return_stats: bool = False):
    """Flow at time 1 of the velocity field of each ``A[t]`` ``[T, nT, 2, 3]``.

    Args:
        A: per-triangle matrices.
        points: ``[P, 2]`` or ``[T, P, 2]``.
        nc: cells ``(nx, ny)``.
        max_iterations: bound on region crossings plus sub-steps per point.
        return_stats: also return ``{'iterations', 'unfinished'}``.

    Returns:
        ``[T, P, 2]`` transformed points (differentiable in ``A`` and
        ``points``), and the statistics if asked for.
    """
    T = A.shape[0]
    flat, offset, P = _batched(A, points)
    A_rows = A.reshape(-1, 2, 3)
    out, events, unfinished = _search(A_rows.detach(), flat.detach(), offset, nc,
                                      max_iterations)
    if torch.is_grad_enabled() and (A.requires_grad or points.requires_grad):
        out = _replay(A_rows, flat, events, nc)
    out = out.view(T, P, 2)
    if return_stats:
        return out, {'iterations': events.rows.shape[0], 'unfinished': unfinished}
    return out
