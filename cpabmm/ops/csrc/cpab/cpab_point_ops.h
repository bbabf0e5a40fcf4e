// The two CPAB ops as per-point functions with one signature, so that the
// CPU and CUDA kernels are written once for both.
#pragma once

#include "cpab/cpab_integrate.h"
#include "cpab/cpab_velocity.h"

namespace cpab {

// Which op a kernel runs.
enum class Op { kVelocity, kIntegrate };

template <Op op>
struct PointOp;

template <>
struct PointOp<Op::kVelocity> {
  template <typename scalar_t>
  static CPAB_HD void forward(const scalar_t* a, double x, double y, int nx,
                              int ny, double& o0, double& o1) {
    point_velocity(a, x, y, nx, ny, o0, o1);
  }
  template <typename scalar_t, typename Add>
  static CPAB_HD void backward(const scalar_t* a, double x, double y,
                               double g0, double g1, int nx, int ny, Add& add,
                               double& gx, double& gy) {
    point_velocity_backward(a, x, y, g0, g1, nx, ny, add, gx, gy);
  }
};

template <>
struct PointOp<Op::kIntegrate> {
  template <typename scalar_t>
  static CPAB_HD void forward(const scalar_t* a, double x, double y, int nx,
                              int ny, double& o0, double& o1) {
    point_integrate(a, x, y, nx, ny, o0, o1);
  }
  template <typename scalar_t, typename Add>
  static CPAB_HD void backward(const scalar_t* a, double x, double y,
                               double g0, double g1, int nx, int ny, Add& add,
                               double& gx, double& gy) {
    point_integrate_backward(a, x, y, g0, g1, nx, ny, add, gx, gy);
  }
};

}  // namespace cpab
