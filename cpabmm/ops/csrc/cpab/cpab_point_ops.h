// The per-point work of the CPAB ops, shared by the CPU and CUDA kernels:
// read point p of transformation t, run an op, write its result.
#pragma once

#include <cstdint>

#include "cpab/cpab_integrate.h"
#include "cpab/cpab_velocity.h"

namespace cpab {

// Which op a kernel runs.
enum class Op { kVelocity, kIntegrate };

// Problem sizes shared by the implementations.
struct Sizes {
  int64_t T;   // number of transformations
  int64_t P;   // points per transformation
  int64_t nT;  // triangles
  int64_t
      pt_stride;  // elements between transformations in `points` (0: shared)
  int nx, ny;
};

// out[t, p] = op(point (t, p)).
template <Op op, typename scalar_t>
CPAB_HD void forward_point(const scalar_t* A, const scalar_t* pts,
                           scalar_t* out, const Sizes& n, int64_t t,
                           int64_t p) {
  const scalar_t* a = A + t * n.nT * 6;
  const scalar_t* x = pts + t * n.pt_stride + 2 * p;
  const double x0 = static_cast<double>(x[0]), x1 = static_cast<double>(x[1]);
  double o0, o1;
  if constexpr (op == Op::kIntegrate) {
    point_integrate(a, x0, x1, n.nx, n.ny, o0, o1);
  } else {
    point_velocity(a, x0, x1, n.nx, n.ny, o0, o1);
  }
  const int64_t i = 2 * (t * n.P + p);
  out[i] = static_cast<scalar_t>(o0);
  out[i + 1] = static_cast<scalar_t>(o1);
}

// Given grad_out[t, p], writes grad_pts[t, p] and adds the gradient of A[t]
// through add(index, value).
template <Op op, typename scalar_t, typename Add>
CPAB_HD void backward_point(const scalar_t* A, const scalar_t* pts,
                            const scalar_t* grad_out, scalar_t* grad_pts,
                            const Sizes& n, int64_t t, int64_t p, Add& add) {
  const scalar_t* a = A + t * n.nT * 6;
  const scalar_t* x = pts + t * n.pt_stride + 2 * p;
  const double x0 = static_cast<double>(x[0]), x1 = static_cast<double>(x[1]);
  const int64_t i = 2 * (t * n.P + p);
  const double g0 = static_cast<double>(grad_out[i]);
  const double g1 = static_cast<double>(grad_out[i + 1]);
  double gx, gy;
  if constexpr (op == Op::kIntegrate) {
    point_integrate_backward(a, x0, x1, g0, g1, n.nx, n.ny, add, gx, gy);
  } else {
    point_velocity_backward(a, x0, x1, g0, g1, n.nx, n.ny, add, gx, gy);
  }
  grad_pts[i] = static_cast<scalar_t>(gx);
  grad_pts[i + 1] = static_cast<scalar_t>(gy);
}

}  // namespace cpab
