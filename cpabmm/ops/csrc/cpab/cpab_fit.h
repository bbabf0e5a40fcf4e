// The linearised systems of the fast keypoint-to-CPAB solver, for host and
// device (cpabmm/models/motion/cpab_solver.py specifies the math; its
// PyTorch path is the reference of these kernels).
//
// For G problems of n control points c and targets s ([G, n, 2], CPAB domain
// coordinates) and the basis B [6 nT, d] (row 6 tri + 3 j + k multiplies
// coordinate k of (x, y, 1) in velocity component j), one problem's system is
// the matrix J [2n, d] and right-hand side b [2n]:
//
//  * the start (no A):  m = (c + s) / 2,  J = V(m),  b = s - c, and the mean
//    squared motion ms = mean |s - c|^2;
//  * a Gauss-Newton step at the fields A [G, nT, 2, 3] of theta: T(c) by
//    exact integration (with zero_boundary, of the point clamped to the
//    domain, then moved by what the clamp took off), m = (c + T(c)) / 2,
//    r = T(c) - s, M = (I - Dv(m) / 2)^-1, J = w M V(m), b = w (M v(m) - r),
//    with the robust factors w = (|r|^2 + f^2)^(-1/4) / rms over the points
//    (f^2 = robust^2 ms + 1e-12; w = 1 for robust = 0);
//
// with V(x) [2, d] the basis rows of x's triangle applied to (x, y, 1), Dv
// and v(x) = A_tri [x; 1] the field's linear part and velocity there.
//
// A problem is solved in three phases (the CUDA kernel runs one block per
// problem, synchronising between them): fit_point for each point writes its
// per-point values (kFitFields doubles) to a scratch row; fit_factors reduces
// over the problem's points (the mean squared motion, the robust factors);
// fit_entry writes one entry of J and fit_rhs one of b.
#pragma once

#include <cstdint>

#include "cpab/cpab_integrate.h"

namespace cpab {

// The per-point values of a problem's scratch rows.
enum FitField {
  kFitTriangle,    // the midpoint's triangle (as a double)
  kFitM00,         // M = (I - Dv / 2)^-1, row-major
  kFitM01,
  kFitM10,
  kFitM11,
  kFitMidX,        // the midpoint m
  kFitMidY,
  kFitU0,          // M v(m) - r (the start: s - c)
  kFitU1,
  kFitFactor,      // |r|^2, then the robust factor w
  kFitFields
};

// Problem sizes and settings.
struct FitSizes {
  int64_t G;  // problems
  int64_t n;  // points per problem
  int64_t d;  // theta's dimension
  int64_t nT;  // triangles
  int nx, ny;
  bool start;          // the start's system (no A)
  bool zero_boundary;  // the CPAB op's zero-boundary convention
  double robust;       // the robust factors' floor (0: none)
  double eps;          // rms normalisation's epsilon (the dtype's)
};

// Phase 1: the scratch row of point p of problem g.
template <typename scalar_t>
CPAB_HD void fit_point(const scalar_t* A, const scalar_t* control,
                       const scalar_t* target, double* scratch,
                       const FitSizes& s, int64_t g, int64_t p) {
  const int64_t i = 2 * (g * s.n + p);
  const double c0 = static_cast<double>(control[i]);
  const double c1 = static_cast<double>(control[i + 1]);
  const double t0 = static_cast<double>(target[i]);
  const double t1 = static_cast<double>(target[i + 1]);
  double* f = scratch + kFitFields * (g * s.n + p);
  if (s.start) {
    const double m0 = c0 + 0.5 * (t0 - c0), m1 = c1 + 0.5 * (t1 - c1);
    f[kFitTriangle] = locate(m0, m1, s.nx, s.ny);
    f[kFitM00] = 1.0;
    f[kFitM01] = 0.0;
    f[kFitM10] = 0.0;
    f[kFitM11] = 1.0;
    f[kFitMidX] = m0;
    f[kFitMidY] = m1;
    f[kFitU0] = t0 - c0;
    f[kFitU1] = t1 - c1;
    f[kFitFactor] = 0.0;
    return;
  }
  const scalar_t* a = A + g * s.nT * 6;
  double x0 = c0, x1 = c1;
  if (s.zero_boundary) {
    x0 = fmin(fmax(c0, 0.0), 1.0);
    x1 = fmin(fmax(c1, 0.0), 1.0);
  }
  double y0, y1;
  point_integrate(a, x0, x1, s.nx, s.ny, y0, y1);
  y0 += c0 - x0;
  y1 += c1 - x1;
  const double m0 = c0 + 0.5 * (y0 - c0), m1 = c1 + 0.5 * (y1 - c1);
  const double r0 = y0 - t0, r1 = y1 - t1;
  const int tri = locate(m0, m1, s.nx, s.ny);
  double L[6];
  load_affine(a, tri, L);
  // I - Dv / 2 and its inverse.
  const double d00 = 1.0 - 0.5 * L[0], d01 = -0.5 * L[1];
  const double d10 = -0.5 * L[3], d11 = 1.0 - 0.5 * L[4];
  const double det = d00 * d11 - d01 * d10;
  const double M00 = d11 / det, M01 = -d01 / det;
  const double M10 = -d10 / det, M11 = d00 / det;
  double v0, v1;
  affine_apply(L, m0, m1, v0, v1);
  f[kFitTriangle] = tri;
  f[kFitM00] = M00;
  f[kFitM01] = M01;
  f[kFitM10] = M10;
  f[kFitM11] = M11;
  f[kFitMidX] = m0;
  f[kFitMidY] = m1;
  f[kFitU0] = M00 * v0 + M01 * v1 - r0;
  f[kFitU1] = M10 * v0 + M11 * v1 - r1;
  f[kFitFactor] = r0 * r0 + r1 * r1;
}

// Phase 2: the factors of problem g's points (and, for the start, its mean
// squared motion, written to mean_square[g]).
template <typename scalar_t>
CPAB_HD void fit_factors(const scalar_t* control, const scalar_t* target,
                         double* scratch, scalar_t* mean_square,
                         const FitSizes& s, int64_t g) {
  double* rows = scratch + kFitFields * g * s.n;
  double motion = 0.0;
  for (int64_t p = 0; p < s.n; ++p) {
    const int64_t i = 2 * (g * s.n + p);
    const double m0 = static_cast<double>(target[i]) - control[i];
    const double m1 = static_cast<double>(target[i + 1]) - control[i + 1];
    motion += m0 * m0 + m1 * m1;
  }
  motion /= s.n;
  if (s.start) mean_square[g] = static_cast<scalar_t>(motion);
  if (s.start || !(s.robust > 0.0)) {
    for (int64_t p = 0; p < s.n; ++p) rows[kFitFields * p + kFitFactor] = 1.0;
    return;
  }
  const double floor_square = s.robust * s.robust * motion + 1e-12;
  double sum_square = 0.0;
  for (int64_t p = 0; p < s.n; ++p) {
    double& w = rows[kFitFields * p + kFitFactor];
    w = pow(w + floor_square, -0.25);
    sum_square += w * w;
  }
  const double norm = 1.0 / sqrt(sum_square / s.n + s.eps);
  for (int64_t p = 0; p < s.n; ++p) rows[kFitFields * p + kFitFactor] *= norm;
}

// Phase 3: J[g, 2 p + j, k].
template <typename scalar_t>
CPAB_HD void fit_entry(const scalar_t* basis, const double* scratch,
                       scalar_t* J, const FitSizes& s, int64_t g, int64_t p,
                       int j, int64_t k) {
  const double* f = scratch + kFitFields * (g * s.n + p);
  const scalar_t* rows =
      basis + 6 * static_cast<int64_t>(f[kFitTriangle]) * s.d + k;
  double V[2];
  for (int i = 0; i < 2; ++i) {
    const scalar_t* r = rows + 3 * i * s.d;
    V[i] = f[kFitMidX] * static_cast<double>(r[0]) +
           f[kFitMidY] * static_cast<double>(r[s.d]) +
           static_cast<double>(r[2 * s.d]);
  }
  const double* M = f + (j == 0 ? kFitM00 : kFitM10);
  J[(2 * (g * s.n + p) + j) * s.d + k] =
      static_cast<scalar_t>(f[kFitFactor] * (M[0] * V[0] + M[1] * V[1]));
}

// Phase 3: b[g, 2 p + j].
template <typename scalar_t>
CPAB_HD void fit_rhs(const double* scratch, scalar_t* b, const FitSizes& s,
                     int64_t g, int64_t p, int j) {
  const double* f = scratch + kFitFields * (g * s.n + p);
  b[2 * (g * s.n + p) + j] =
      static_cast<scalar_t>(f[kFitFactor] * f[kFitU0 + j]);
}

}  // namespace cpab
