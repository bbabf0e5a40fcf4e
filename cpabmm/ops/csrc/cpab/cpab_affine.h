// Small fixed-size linear algebra for 2-D affine fields, usable on host and
// device: the exact flow of an affine velocity field, and the adjoint of the
// Frechet derivative of its matrix exponential.
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

// Taylor degree of the scaled exponential in affine_expm_adjoint: with the
// scaled linear part of norm <= 1/2 the truncation error (0.5^15 / 15!) is
// below double rounding.
constexpr int kTaylorDegree = 14;
// Spectral radius of s L up to which AffineFlow is exact, and the number of
// Taylor terms that makes it so (1.5^21 / 22! < 5e-17).
constexpr double kFlowRadius = 1.5;
constexpr int kPhiTerms = 21;

// 1 / n!, a compile-time constant.
template <int n>
struct InvFactorial {
  static constexpr double value = InvFactorial<n - 1>::value / n;
};
template <>
struct InvFactorial<0> {
  static constexpr double value = 1.0;
};

// Horner steps k, k - 1, ..., 0 of phi1's series in the algebra of AffineFlow
// (unrolled at compile time, so that every coefficient is a constant).
template <int k>
struct PhiHorner {
  static CPAB_HD void run(double a, double q, double& u, double& w) {
    const double u_next = InvFactorial<k + 1>::value + a * u + q * w;
    w = u + a * w;
    u = u_next;
    PhiHorner<k - 1>::run(a, q, u, w);
  }
};
template <>
struct PhiHorner<-1> {
  static CPAB_HD void run(double, double, double&, double&) {}
};

// y = A [x; 1].
CPAB_HD void affine_apply(const double a[6], double x0, double x1, double& y0,
                          double& y1) {
  y0 = a[0] * x0 + a[1] * x1 + a[2];
  y1 = a[3] * x0 + a[4] * x1 + a[5];
}

// The exact flow of the affine field v = L x + c (A = [L | c]) from one start
// point x0, for times s with spectral radius of s L at most kFlowRadius:
//   x(s) = x0 + s phi1(s L) v0,  v0 = L x0 + c,  phi1(z) = (e^z - 1) / z.
// With L = h I + N (h = tr L / 2, N^2 = delta I), phi1(s L) = f0 I + f1 s N
// where (f0, f1) is Horner's rule on phi1's Taylor series in the algebra
// u I + w (s N), (s N)^2 = s^2 delta I: no branches, and singular,
// nilpotent, rotating and expanding fields alike.
struct AffineFlow {
  double x0, y0;  // start point
  double v0, v1;  // its velocity
  double n0, n1;  // N v0
  double h, delta;

  CPAB_HD AffineFlow(const double m[6], double x, double y) : x0(x), y0(y) {
    h = 0.5 * (m[0] + m[4]);
    const double half_diff = 0.5 * (m[0] - m[4]);
    delta = half_diff * half_diff + m[1] * m[3];
    affine_apply(m, x, y, v0, v1);
    n0 = m[0] * v0 + m[1] * v1 - h * v0;
    n1 = m[3] * v0 + m[4] * v1 - h * v1;
  }

  // |h| + sqrt|delta|: the spectral radius bound of L.
  CPAB_HD double rate() const { return fabs(h) + sqrt(fabs(delta)); }

  CPAB_HD void at(double s, double& x, double& y) const {
    const double a = s * h, q = s * s * delta;
    double u = InvFactorial<kPhiTerms>::value, w = 0.0;
    PhiHorner<kPhiTerms - 2>::run(a, q, u, w);
    const double su = s * u, ssw = s * s * w;
    x = x0 + su * v0 + ssw * n0;
    y = y0 + su * v1 + ssw * n1;
  }
};

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
