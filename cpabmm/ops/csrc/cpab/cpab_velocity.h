// Per-point velocity field and its gradient, for host and device.
#pragma once

#include "cpab/cpab_tess.h"

namespace cpab {

// v = A_c [x; 1] with c the triangle of x; `a` points to the T-slice of A
// (nT * 6 numbers).
template <typename scalar_t>
CPAB_HD void point_velocity(const scalar_t* a, double x, double y, int nx,
                            int ny, double& v0, double& v1) {
  const scalar_t* ac = a + 6 * locate(x, y, nx, ny);
  double m[6];
  for (int i = 0; i < 6; ++i) m[i] = static_cast<double>(ac[i]);
  affine_apply(m, x, y, v0, v1);
}

// Gradients of <g, v(x)>: adds g [x; 1]^T to the triangle's 6 entries
// through `add(index, value)` and returns M^T g (the gradient w.r.t. x).
template <typename scalar_t, typename Add>
CPAB_HD void point_velocity_backward(const scalar_t* a, double x, double y,
                                     double g0, double g1, int nx, int ny,
                                     Add& add, double& gx, double& gy) {
  const int c = locate(x, y, nx, ny);
  const scalar_t* ac = a + 6 * c;
  add(6 * c + 0, g0 * x);
  add(6 * c + 1, g0 * y);
  add(6 * c + 2, g0);
  add(6 * c + 3, g1 * x);
  add(6 * c + 4, g1 * y);
  add(6 * c + 5, g1);
  gx = static_cast<double>(ac[0]) * g0 + static_cast<double>(ac[3]) * g1;
  gy = static_cast<double>(ac[1]) * g0 + static_cast<double>(ac[4]) * g1;
}

}  // namespace cpab
