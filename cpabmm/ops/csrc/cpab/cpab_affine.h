// Small fixed-size linear algebra for 2-D affine maps, usable on host and
// device: products, the matrix exponential of an affine velocity field and
// the adjoint of its Frechet derivative.
//
// A 2-D affine field v(x) = A [x; 1] is stored as the 6 numbers of the 2x3
// matrix A (row-major).  Its homogeneous form Abar = [[A], [0 0 0]] is a 3x3
// matrix with a zero last row; its exponential is an affine map, stored the
// same way with an implicit last row [0 0 1].
//
// The kernels compute in double whatever the tensors' dtype: the per-point
// work is scalar code, where double costs about as much as float, and it
// keeps crossing times and exponentials accurate to ~1e-15.
#pragma once

#include <cmath>

#ifdef __CUDACC__
#define CPAB_HD __host__ __device__ __forceinline__
#else
#define CPAB_HD inline
#endif

namespace cpab {

// Taylor degree of the scaled exponential: with the scaled linear part of
// norm <= 1/2 the truncation error (0.5^15 / 15!) is below double rounding.
constexpr int kTaylorDegree = 14;

CPAB_HD void affine_identity(double e[6]) {
  e[0] = 1.0; e[1] = 0.0; e[2] = 0.0;
  e[3] = 0.0; e[4] = 1.0; e[5] = 0.0;
}

// r = p * q for a 2x3 p (either kind) and an affine map q (last row 0 0 1):
// the translation of q picks up p's own translation column.  r may alias.
CPAB_HD void affine_compose(const double p[6], const double q[6], double r[6]) {
  const double r0 = p[0] * q[0] + p[1] * q[3];
  const double r1 = p[0] * q[1] + p[1] * q[4];
  const double r2 = p[0] * q[2] + p[1] * q[5] + p[2];
  const double r3 = p[3] * q[0] + p[4] * q[3];
  const double r4 = p[3] * q[1] + p[4] * q[4];
  const double r5 = p[3] * q[2] + p[4] * q[5] + p[5];
  r[0] = r0; r[1] = r1; r[2] = r2;
  r[3] = r3; r[4] = r4; r[5] = r5;
}

// y = A [x; 1].
CPAB_HD void affine_apply(const double a[6], double x0, double x1, double& y0,
                          double& y1) {
  y0 = a[0] * x0 + a[1] * x1 + a[2];
  y1 = a[3] * x0 + a[4] * x1 + a[5];
}

// Infinity norm of the linear (2x2) part; the translation does not affect
// the convergence of the Taylor series of the affine exponential.
CPAB_HD double linear_norm(const double a[6]) {
  const double r0 = fabs(a[0]) + fabs(a[1]);
  const double r1 = fabs(a[3]) + fabs(a[4]);
  return r0 > r1 ? r0 : r1;
}

// Number of halvings that bring `norm` to at most 1/2 (bounded, so that
// non-finite input cannot loop forever).
CPAB_HD int scaling_power(double norm) {
  int j = 0;
  while (norm > 0.5 && j < 64) {
    norm *= 0.5;
    ++j;
  }
  return j;
}

// E = expm(s * Abar) as an affine map: scaling and squaring with a Taylor
// polynomial evaluated by Horner's rule.
CPAB_HD void affine_expm(const double a[6], double s, double e[6]) {
  double x[6];
  for (int i = 0; i < 6; ++i) x[i] = s * a[i];
  const int j = scaling_power(linear_norm(x));
  const double scale = ldexp(1.0, -j);
  for (int i = 0; i < 6; ++i) x[i] *= scale;
  affine_identity(e);
  for (int k = kTaylorDegree; k >= 1; --k) {
    double xe[6];
    affine_compose(x, e, xe);  // Abar * E: a zero last row
    const double inv_k = 1.0 / k;
    for (int i = 0; i < 6; ++i) e[i] = xe[i] * inv_k;
    e[0] += 1.0;
    e[4] += 1.0;
  }
  for (int i = 0; i < j; ++i) affine_compose(e, e, e);
}

// r = p * q for row-major 3x3 matrices; r may alias.
CPAB_HD void mat3_mul(const double p[9], const double q[9], double r[9]) {
  double t[9];
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 3; ++k)
      t[3 * i + k] = p[3 * i] * q[k] + p[3 * i + 1] * q[3 + k] +
                     p[3 * i + 2] * q[6 + k];
  for (int i = 0; i < 9; ++i) r[i] = t[i];
}

// Gradient of <G, expm(X)> with respect to X, i.e. the adjoint of the Frechet
// derivative, L(X^T, G): the upper-right block of expm([[X^T, G], [0, X^T]]).
// X = s * Abar is given by its 2x3 top rows `x` (last row zero); G is a full
// 3x3 matrix.  Only the top two rows of the result are returned (`grad`,
// 2x3), which is all an affine parameterisation needs, together with the
// transpose of the linear part of expm(X) (`ft`, 2x2 row-major), which the
// block exponential yields for free.
CPAB_HD void affine_expm_adjoint(const double x[6], const double g[9],
                                 double grad[6], double ft[4]) {
  const int j = scaling_power(linear_norm(x));
  const double scale = ldexp(1.0, -j);
  // Y = X^T / 2^j (X has a zero last row, so Y has a zero last column).
  const double y[9] = {x[0] * scale, x[3] * scale, 0.0,
                       x[1] * scale, x[4] * scale, 0.0,
                       x[2] * scale, x[5] * scale, 0.0};
  double h[9];
  for (int i = 0; i < 9; ++i) h[i] = g[i] * scale;
  // Horner on the block-triangular matrix [[Y, H], [0, Y]]: the diagonal
  // blocks P follow the plain series, the off-diagonal block Q its
  // derivative.  One extra term, as Q's series decays one order slower.
  double p[9] = {1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0};
  double q[9] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  for (int k = kTaylorDegree + 1; k >= 1; --k) {
    double yq[9], hp[9], yp[9];
    mat3_mul(y, q, yq);
    mat3_mul(h, p, hp);
    mat3_mul(y, p, yp);
    const double inv_k = 1.0 / k;
    for (int i = 0; i < 9; ++i) {
      q[i] = (yq[i] + hp[i]) * inv_k;
      p[i] = yp[i] * inv_k;
    }
    p[0] += 1.0;
    p[4] += 1.0;
    p[8] += 1.0;
  }
  // Squaring: [[P, Q], [0, P]]^2 = [[P^2, PQ + QP], [0, P^2]].
  for (int i = 0; i < j; ++i) {
    double pq[9], qp[9];
    mat3_mul(p, q, pq);
    mat3_mul(q, p, qp);
    for (int k = 0; k < 9; ++k) q[k] = pq[k] + qp[k];
    mat3_mul(p, p, p);
  }
  for (int i = 0; i < 6; ++i) grad[i] = q[i];
  ft[0] = p[0]; ft[1] = p[1];
  ft[2] = p[3]; ft[3] = p[4];
}

}  // namespace cpab
