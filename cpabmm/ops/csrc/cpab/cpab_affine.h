// The exact flow of a 2-D affine velocity field and its reverse mode, for
// host and device.
//
// A 2-D affine field v(x) = L x + c is stored as the 6 numbers of the 2x3
// matrix A = [L | c] (row-major).  The kernels compute in double whatever the
// tensors' dtype: the per-point work is scalar code, where double costs about
// as much as float, and it keeps crossing times accurate to ~1e-15.
#pragma once

#include <cmath>

#ifdef __CUDACC__
#define CPAB_HD __host__ __device__ __forceinline__
#else
#define CPAB_HD inline
#endif

namespace cpab {

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

// Horner steps k, k - 1, ..., 0 on the coefficients 1 / (start + j + 1)! of
// phi1's series, in the algebra of AffineFlow: (u, w) <- c + (a u + q w,
// u + a w).  Unrolled at compile time, so that every coefficient is a
// constant; with kTangent, also the derivatives (ua, wa, uq, wq) of (u, w)
// in a and q.
template <int start, int k, bool kTangent>
struct PhiHorner {
  static CPAB_HD void run(double a, double q, double& u, double& w, double& ua,
                          double& wa, double& uq, double& wq) {
    if constexpr (kTangent) {
      const double ua_next = u + a * ua + q * wa;
      const double uq_next = w + a * uq + q * wq;
      wa = w + ua + a * wa;
      wq = uq + a * wq;
      ua = ua_next;
      uq = uq_next;
    }
    const double u_next = InvFactorial<start + k + 1>::value + a * u + q * w;
    w = u + a * w;
    u = u_next;
    PhiHorner<start, k - 1, kTangent>::run(a, q, u, w, ua, wa, uq, wq);
  }
};
template <int start, bool kTangent>
struct PhiHorner<start, -1, kTangent> {
  static CPAB_HD void run(double, double, double&, double&, double&, double&,
                          double&, double&) {}
};

// An element u I + w Z' of the algebra of AffineFlow (Z'^2 = q I).
struct PhiPair {
  double u, w;
};

CPAB_HD PhiPair times(PhiPair p, PhiPair r, double q) {
  return {p.u * r.u + q * p.w * r.w, p.u * r.w + p.w * r.u};
}

// sum_{j < len} Z^j / (start + j + 1)! for Z = a I + Z', by Horner.
template <int start, int len>
CPAB_HD PhiPair phi1_chunk(double a, double q) {
  PhiPair p{InvFactorial<start + len>::value, 0.0};
  double unused[4];
  PhiHorner<start, len - 2, false>::run(a, q, p.u, p.w, unused[0], unused[1],
                                        unused[2], unused[3]);
  return p;
}

// phi1(Z) to kPhiTerms terms by Estrin's scheme: three independent Horner
// chains of 7 terms joined with Z^7 (a third of the dependent steps of one
// Horner chain, which dominates the kernels' time).
CPAB_HD PhiPair phi1(double a, double q) {
  static_assert(kPhiTerms == 21, "phi1 splits the series into 3 x 7 terms");
  const PhiPair p0 = phi1_chunk<0, 7>(a, q);
  const PhiPair p1 = phi1_chunk<7, 7>(a, q);
  const PhiPair p2 = phi1_chunk<14, 7>(a, q);
  const PhiPair z{a, 1.0};
  const PhiPair z2 = times(z, z, q);
  const PhiPair z7 = times(times(z2, z2, q), times(z2, z, q), q);
  PhiPair r = times(z7, p2, q);
  r = times(z7, {r.u + p1.u, r.w + p1.w}, q);
  return {r.u + p0.u, r.w + p0.w};
}

// y = A [x; 1].
CPAB_HD void affine_apply(const double a[6], double x0, double x1, double& y0,
                          double& y1) {
  y0 = a[0] * x0 + a[1] * x1 + a[2];
  y1 = a[3] * x0 + a[4] * x1 + a[5];
}

// The exact flow of the affine field A from one start point x0, for times s
// with spectral radius of s L at most kFlowRadius:
//   x(s) = x0 + s phi1(s L) v0,  v0 = L x0 + c,  phi1(z) = (e^z - 1) / z.
// With L = h I + N (h = tr L / 2, N = [[d, L01], [L10, -d]], d = (L00 -
// L11) / 2, N^2 = delta I), phi1(s L) = u I + w s N where (u, w) is phi1's
// Taylor series evaluated in the algebra u I + w (s N), (s N)^2 = s^2 delta I
// (see phi1()): no branches, and singular, nilpotent, rotating and expanding
// fields alike.
struct AffineFlow {
  double m[6];    // A
  double x0, y0;  // start point
  double v0, v1;  // its velocity
  double n0, n1;  // N v0
  double h, d, delta;

  CPAB_HD AffineFlow(const double a[6], double x, double y) : x0(x), y0(y) {
    for (int i = 0; i < 6; ++i) m[i] = a[i];
    h = 0.5 * (m[0] + m[4]);
    d = 0.5 * (m[0] - m[4]);
    delta = d * d + m[1] * m[3];
    affine_apply(m, x, y, v0, v1);
    n0 = d * v0 + m[1] * v1;
    n1 = m[3] * v0 - d * v1;
  }

  // |h| + sqrt|delta|: a bound on the spectral radius of L.
  CPAB_HD double rate() const { return fabs(h) + sqrt(fabs(delta)); }

  CPAB_HD void at(double s, double& x, double& y) const {
    const PhiPair c = phi1(s * h, s * s * delta);
    const double su = s * c.u, ssw = s * s * c.w;
    x = x0 + su * v0 + ssw * n0;
    y = y0 + su * v1 + ssw * n1;
  }

  // Reverse mode of at(s) for a fixed s: given (l0, l1) = dLoss/dx(s),
  // writes dLoss/dA to gA and dLoss/dx0 to (gx, gy).
  CPAB_HD void backward(double s, double l0, double l1, double gA[6],
                        double& gx, double& gy) const {
    // phi1's coefficients and their derivatives in (a, q) = (s h, s^2 delta)
    double u = InvFactorial<kPhiTerms>::value, w = 0.0;
    double ua = 0.0, wa = 0.0, uq = 0.0, wq = 0.0;
    PhiHorner<0, kPhiTerms - 2, true>::run(s * h, s * s * delta, u, w, ua, wa,
                                           uq, wq);
    const double ssw = s * s * w;
    // through (u, w) to (h, delta)
    const double gu = s * (l0 * v0 + l1 * v1);
    const double gw = s * s * (l0 * n0 + l1 * n1);
    const double gh = s * (gu * ua + gw * wa);
    const double gdelta = s * s * (gu * uq + gw * wq);
    // through N in N v0 (dLoss/dN = ssw lambda v0^T) and delta = d^2 + L01 L10
    const double gd = 2.0 * d * gdelta + ssw * (l0 * v0 - l1 * v1);
    const double g01 = m[3] * gdelta + ssw * l0 * v1;
    const double g10 = m[1] * gdelta + ssw * l1 * v0;
    // dLoss/dv0 = s u lambda + ssw N^T lambda, then v0 = L x0 + c
    const double gv0 = s * u * l0 + ssw * (d * l0 + m[3] * l1);
    const double gv1 = s * u * l1 + ssw * (m[1] * l0 - d * l1);
    gA[0] = gv0 * x0 + 0.5 * (gh + gd);
    gA[1] = gv0 * y0 + g01;
    gA[2] = gv0;
    gA[3] = gv1 * x0 + g10;
    gA[4] = gv1 * y0 + 0.5 * (gh - gd);
    gA[5] = gv1;
    gx = l0 + m[0] * gv0 + m[3] * gv1;
    gy = l1 + m[1] * gv0 + m[4] * gv1;
  }
};

}  // namespace cpab
