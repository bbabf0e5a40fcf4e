// Exact integration of a CPAB velocity field for one point, and its analytic
// reverse pass, for host and device (all arithmetic in double).
//
// This is the algorithm of the reference path (cpabmm/ops/cpab/reference.py,
// whose module docstring is the specification), one point at a time:
//
// Regions.  Triangle (cx, cy, k) is the set where every active constraint
// g_j <= 0, with lx = x nx - cx, ly = y ny - cy:
//   g0 = -lx (if cx > 0), g1 = lx - 1 (if cx < nx - 1), g2 = -ly (if cy > 0),
//   g3 = ly - 1 (if cy < ny - 1), g4 = s4 (ly - lx), g5 = s5 (ly - (1 - lx)),
// s4 = +1 for bottom/right, -1 for top/left; s5 = +1 for bottom/left, -1 for
// right/top; inactive constraints are -inf.
//
// Iteration (state x, t; at most kMaxIterations, while t < 1 and x is
// finite):
//  1. R = locate(x); H = min(1 - t, 1.5 / (|h| + sqrt|delta|)) for R's
//     field v = L x + c (h = tr L / 2, delta = ((L00 - L11) / 2)^2 + L01 L10),
//     so each rate g_j' has at most one zero in the sub-step.
//  2. x(H) by the exact flow; hi = H if max_j g_j(x(H)) > 0.  A constraint
//     with g_j(H) <= 0 and g_j'(0) > 0 > g_j'(H) may graze: its maximum s_m
//     has a closed form; if g_j(x(s_m)) > 0 then hi = min(hi, s_m).
//  3. No exit: x <- x(H), t <- t + H (t = 1 on the last sub-step).
//  4. Exit: safeguarded Newton on G(s) = max_j g_j(x(s)) = kEta within
//     [0, hi]; every s with G > 0 becomes hi, and the iteration stops once
//     0 < G(hi) <= 4 kEta.  x <- x(hi), t <- t + hi; the crossed constraint
//     is j* = argmax_j g_j(x(hi)).
//
// Reverse pass.  Each iteration is an event: start point z, duration s,
// region, crossed constraint j (or -1), end point.  Walking the events
// backwards with the adjoint lambda of the point: across a crossing at the
// end of an event (normal n = grad g_j, v-/v+ the fields before/after at the
// crossing point, v+ = 0 after the last event), lambda <- lambda - n
// (lambda.(v- - v+)) / (n.v-) (the implicit derivative of the crossing
// time; |n.v-| floored at kDenFloor, sign kept); through the event, the
// reverse mode of the exact flow for the fixed time s (AffineFlow::backward)
// adds the gradient of the region's matrix and maps lambda to the start
// point.  Sub-step times are constants.  The events are recomputed, not
// stored: the forward pass keeps the state at the start of every block of
// kBlock events and each block is replayed when the reverse walk reaches it,
// so the memory per point stays small (a GPU thread's local memory too).
#pragma once

#include "cpab/cpab_tess.h"

namespace cpab {

constexpr int kNewtonSteps = 16;
constexpr int kMaxIterations = 256;
// Newton's target level of the exit (local cell units) and the floor of
// |n.v| in the crossing-time derivative.
constexpr double kEta = 1e-12;
constexpr double kDenFloor = 1e-12;
// Events replayed together by the reverse pass.
constexpr int kBlock = 32;
constexpr int kNumBlocks = (kMaxIterations + kBlock - 1) / kBlock;

template <typename scalar_t>
CPAB_HD void load_affine(const scalar_t* a, int row, double m[6]) {
  for (int i = 0; i < 6; ++i) m[i] = static_cast<double>(a[6 * row + i]);
}

// The constraints of one region.
struct Region {
  double cx, cy, s4, s5;
  double bias[4];  // 0 for active domain-side constraints, -inf otherwise

  CPAB_HD Region(int row, int nx, int ny) {
    const int cell = row / 4, tri = row % 4;
    const int icx = cell % nx, icy = cell / nx;
    cx = icx;
    cy = icy;
    s4 = tri <= 1 ? 1.0 : -1.0;
    s5 = (tri == 0 || tri == 3) ? 1.0 : -1.0;
    const double off = -INFINITY;
    bias[0] = icx > 0 ? 0.0 : off;
    bias[1] = icx < nx - 1 ? 0.0 : off;
    bias[2] = icy > 0 ? 0.0 : off;
    bias[3] = icy < ny - 1 ? 0.0 : off;
  }

  // g_j at (x, y), with locate()'s floating-point expressions.
  CPAB_HD void values(double x, double y, int nx, int ny, double g[6]) const {
    const double lx = x * nx - cx;
    const double ly = y * ny - cy;
    g[0] = bias[0] - lx;
    g[1] = bias[1] + (lx - 1.0);
    g[2] = bias[2] - ly;
    g[3] = bias[3] + (ly - 1.0);
    g[4] = s4 * (ly - lx);
    g[5] = s5 * (ly - (1.0 - lx));
  }

  // grad g_j (its normal, pointing out of the region).
  CPAB_HD void normal(int j, int nx, int ny, double& n0, double& n1) const {
    n0 = 0.0;
    n1 = 0.0;
    switch (j) {  // a switch, not a table: no local memory on GPUs
      case 0:
        n0 = -nx;
        break;
      case 1:
        n0 = nx;
        break;
      case 2:
        n1 = -ny;
        break;
      case 3:
        n1 = ny;
        break;
      case 4:
        n0 = -s4 * nx;
        n1 = s4 * ny;
        break;
      default:
        n0 = s5 * nx;
        n1 = s5 * ny;
        break;
    }
  }

  // g_j' = grad g_j . v.
  CPAB_HD double rate(int j, double v0, double v1, int nx, int ny) const {
    double n0, n1;
    normal(j, nx, ny, n0, n1);
    return n0 * v0 + n1 * v1;
  }
};

// max_j g_j (the first maximiser on ties; 0 when all are NaN).
CPAB_HD double max_constraint(const double g[6], int& j) {
  double G = g[0];
  j = 0;
  for (int k = 1; k < 6; ++k)
    if (g[k] > G) {
      G = g[k];
      j = k;
    }
  return G;
}

// atanh(sqrt(z)) / sqrt(z) for 0 <= z < 1, atan(sqrt(-z)) / sqrt(-z) for
// z < 0 (both sum_k z^k / (2k + 1)).
CPAB_HD double atanhc(double z) {
  if (fabs(z) < 1e-3)
    return 1.0 + z * (1.0 / 3 + z * (1.0 / 5 + z * (1.0 / 7 + z / 9)));
  const double root = sqrt(fabs(z));
  if (z > 0)
    return atanh(root < 0.9999999999999999 ? root : 0.9999999999999999) / root;
  return atan(root) / root;
}

// Earliest s in (0, H) at which a constraint that is inside at both ends of
// the sub-step reaches a positive interior maximum (step 2); returns false
// if there is none.  g_j'(s) = e^{hs} (C(s) alpha + S(s) beta) with
// alpha = g_j'(0), beta = grad g_j . N v0 (N = L - h I), so its zero is
// s_m = u atanhc(delta u^2), u = -alpha / beta.
CPAB_HD bool graze(const double m[6], const AffineFlow& fl, const Region& r,
                   double H, const double g_end[6], double ex, double ey,
                   int nx, int ny, double& hi, double& hx, double& hy) {
  double ve0, ve1;
  affine_apply(m, ex, ey, ve0, ve1);
  bool found = false;
  for (int j = 0; j < 6; ++j) {
    const double alpha = r.rate(j, fl.v0, fl.v1, nx, ny);
    if (!(g_end[j] <= 0.0 && alpha > 0.0 && r.rate(j, ve0, ve1, nx, ny) < 0.0))
      continue;
    const double u = -alpha / r.rate(j, fl.n0, fl.n1, nx, ny);
    double s = u * atanhc(fl.delta * u * u);
    if (s < 0.0) s = 0.0;  // comparisons keep NaN, as the reference does
    if (s > H) s = H;
    double xs, ys, g[6];
    fl.at(s, xs, ys);
    r.values(xs, ys, nx, ny, g);
    if (g[j] > 0.0 && (!found || s < hi)) {
      found = true;
      hi = s;
      hx = xs;
      hy = ys;
    }
  }
  return found;
}

// Exit time by safeguarded Newton on G(s) = kEta in [0, hi] (step 4);
// updates hi, (hx, hy) and returns the crossed constraint.
CPAB_HD int exit_time(const double m[6], const AffineFlow& fl, const Region& r,
                      int nx, int ny, double& hi, double& hx, double& hy) {
  double g_hi[6], g0[6];
  r.values(hx, hy, nx, ny, g_hi);
  int j_hi;
  const double g1 = max_constraint(g_hi, j_hi);
  r.values(fl.x0, fl.y0, nx, ny, g0);
  const double g_start = g0[j_hi] == -INFINITY ? -1.0 : g0[j_hi];
  double frac = (kEta - g_start) / (g1 - g_start);
  if (frac < 0.0) frac = 0.0;
  if (frac > 1.0) frac = 1.0;
  double s = hi * frac, lo = 0.0;
  for (int it = 0; it < kNewtonSteps; ++it) {
    double xs, ys, g[6], v0, v1;
    fl.at(s, xs, ys);
    r.values(xs, ys, nx, ny, g);
    int j;
    const double G = max_constraint(g, j);
    affine_apply(m, xs, ys, v0, v1);
    const double dG = r.rate(j, v0, v1, nx, ny);
    if (G > 0.0) {
      hi = s;
      hx = xs;
      hy = ys;
      j_hi = j;
      if (G <= 4.0 * kEta) break;
    } else {
      lo = s;
    }
    const double step = s - (G - kEta) / dG;
    s = (dG > 0.0 && step > lo && step < hi) ? step : 0.5 * (lo + hi);
  }
  return j_hi;
}

// Position and elapsed time of a point during the integration.
struct State {
  double x, y, t;
};

// One iteration of the integration, as the reverse pass needs it.
struct Event {
  double x0, y0;  // start point
  double x1, y1;  // end point
  double s;       // duration
  int row;        // region (row of the T-slice of A)
  int crossed;    // crossed constraint, -1 for none
};

// Advances `st` by one iteration (steps 1-4) and returns its event.
template <typename scalar_t>
CPAB_HD Event step(const scalar_t* a, int nx, int ny, State& st) {
  Event e;
  e.x0 = st.x;
  e.y0 = st.y;
  e.row = locate(st.x, st.y, nx, ny);
  e.crossed = -1;
  double m[6];
  load_affine(a, e.row, m);
  const AffineFlow fl(m, st.x, st.y);
  const Region r(e.row, nx, ny);
  const double remaining = 1.0 - st.t;
  const double max_step = kFlowRadius / fl.rate();  // inf for L = 0
  const bool last = max_step >= remaining;
  const double H = last ? remaining : max_step;
  double ex, ey, g_end[6];
  fl.at(H, ex, ey);
  r.values(ex, ey, nx, ny, g_end);
  double hi = INFINITY, hx = st.x, hy = st.y;
  const bool grazes = graze(m, fl, r, H, g_end, ex, ey, nx, ny, hi, hx, hy);
  int j_end;
  if (max_constraint(g_end, j_end) > 0.0 && !(grazes && hi < H)) {
    hi = H;
    hx = ex;
    hy = ey;
  }
  double t_new = last ? 1.0 : st.t + H;
  if (hi < INFINITY) {
    e.crossed = exit_time(m, fl, r, nx, ny, hi, hx, hy);
    ex = hx;
    ey = hy;
    t_new = st.t + hi;
  }
  e.s = t_new - st.t;
  e.x1 = ex;
  e.y1 = ey;
  st.x = ex;
  st.y = ey;
  st.t = t_new;
  return e;
}

// Whether the integration goes on after an iteration: time is left, and the
// trajectory has not overflowed (absurd fields stop where they are).
CPAB_HD bool running(const State& st) {
  return st.t < 1.0 && st.x - st.x == 0.0 && st.y - st.y == 0.0;
}

// The flow at time 1 of (x, y).
template <typename scalar_t>
CPAB_HD void point_integrate(const scalar_t* a, double x, double y, int nx,
                             int ny, double& out_x, double& out_y) {
  State st = {x, y, 0.0};
  for (int it = 0; it < kMaxIterations; ++it) {
    step(a, nx, ny, st);
    if (!running(st)) break;
  }
  out_x = st.x;
  out_y = st.y;
}

// Adjoint of one event: updates lambda (l0, l1) from the end of the event
// to its start and adds the gradient of its region's matrix.  `next` is the
// following event (nullptr for the last one).
template <typename scalar_t, typename Add>
CPAB_HD void event_backward(const scalar_t* a, const Event& e,
                            const Event* next, int nx, int ny, Add& add,
                            double& l0, double& l1) {
  double m[6];
  load_affine(a, e.row, m);
  if (e.crossed >= 0) {
    const Region r(e.row, nx, ny);
    double n0, n1, vb0, vb1, va0 = 0.0, va1 = 0.0;
    r.normal(e.crossed, nx, ny, n0, n1);
    affine_apply(m, e.x1, e.y1, vb0, vb1);
    if (next != nullptr) {
      double mn[6];
      load_affine(a, next->row, mn);
      affine_apply(mn, e.x1, e.y1, va0, va1);
    }
    double den = n0 * vb0 + n1 * vb1;
    if (fabs(den) < kDenFloor) den = den < 0.0 ? -kDenFloor : kDenFloor;
    const double coef = (l0 * (vb0 - va0) + l1 * (vb1 - va1)) / den;
    l0 -= coef * n0;
    l1 -= coef * n1;
  }
  const AffineFlow fl(m, e.x0, e.y0);
  double grad[6];
  fl.backward(e.s, l0, l1, grad, l0, l1);
  for (int i = 0; i < 6; ++i) add(6 * e.row + i, grad[i]);
}

// Reverse pass of one point: given g = dL/d(flow), adds the gradient of A
// through add(index, value) and returns dL/d(point) in (gx, gy).
template <typename scalar_t, typename Add>
CPAB_HD void point_integrate_backward(const scalar_t* a, double x, double y,
                                      double g0, double g1, int nx, int ny,
                                      Add& add, double& gx, double& gy) {
  State starts[kNumBlocks];
  Event buf[kBlock];
  State st = {x, y, 0.0};
  int n = 0;
  while (n < kMaxIterations) {
    if (n % kBlock == 0) starts[n / kBlock] = st;
    buf[n % kBlock] = step(a, nx, ny, st);
    ++n;
    if (!running(st)) break;
  }
  // buf holds the last block; earlier blocks are replayed from their start.
  double l0 = g0, l1 = g1;
  const int last_block = (n - 1) / kBlock;
  Event next;
  bool has_next = false;
  for (int b = last_block; b >= 0; --b) {
    const int count = b == last_block ? n - b * kBlock : kBlock;
    if (b != last_block) {
      st = starts[b];
      for (int i = 0; i < count; ++i) buf[i] = step(a, nx, ny, st);
    }
    for (int i = count - 1; i >= 0; --i) {
      event_backward(a, buf[i], has_next ? &next : nullptr, nx, ny, add, l0,
                     l1);
      next = buf[i];
      has_next = true;
    }
  }
  gx = l0;
  gy = l1;
}

}  // namespace cpab
