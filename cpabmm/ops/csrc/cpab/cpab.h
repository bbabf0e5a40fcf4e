// The CPAB ops of cpabmm._ext: validated entry points (cpab_ops.cpp) and the
// per-device implementations they dispatch to (cpab_cpu.cpp, cpab_cuda.cu).
//
// Shapes: A [T, nT, 2, 3] with nT = 4 * nx * ny (see cpab_tess.h for the
// order), points [P, 2] (shared by every transformation) or [T, P, 2]; all
// floating tensors contiguous, of one dtype (float32 or float64) and on one
// device.  Outputs are [T, P, 2]; gradients have the shapes of A and points.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <vector>

#include "cpab/cpab_fit.h"
#include "cpab/cpab_point_ops.h"

namespace cpab {

// Entry points: check the arguments (ValueError), then dispatch by device.
// The backward ones return {grad_A, grad_points}.
at::Tensor velocity(const at::Tensor& A, const at::Tensor& points, int64_t nx,
                    int64_t ny);
std::vector<at::Tensor> velocity_backward(const at::Tensor& A,
                                          const at::Tensor& points,
                                          const at::Tensor& grad_out,
                                          int64_t nx, int64_t ny);
at::Tensor integrate(const at::Tensor& A, const at::Tensor& points, int64_t nx,
                     int64_t ny);
std::vector<at::Tensor> integrate_backward(const at::Tensor& A,
                                           const at::Tensor& points,
                                           const at::Tensor& grad_out,
                                           int64_t nx, int64_t ny);
// The exact flow of affine fields A [N, 2, 3] for times s [N] (spectral
// radius of s L <= 1.5) from points x [N, 2], and its reverse mode
// ({grad_A, grad_x} for grad [N, 2]), on the CPU: the kernels' building
// block on its own, for tests.
at::Tensor affine_flow(const at::Tensor& A, const at::Tensor& s,
                       const at::Tensor& x);
std::vector<at::Tensor> affine_flow_backward(const at::Tensor& A,
                                             const at::Tensor& s,
                                             const at::Tensor& x,
                                             const at::Tensor& grad);
// The fast solver's linearised system (cpab_fit.h): {J [G, 2n, d],
// b [G, 2n], mean_square [G, 1, 1] (the start's; undefined for a step)} for
// control and target [G, n, 2], the basis [6 nT, d] and, for a Gauss-Newton
// step, the fields A [G, nT, 2, 3] of its theta (none: the start).  Forward
// only.
std::vector<at::Tensor> fit_system(const std::optional<at::Tensor>& A,
                                   const at::Tensor& basis,
                                   const at::Tensor& control,
                                   const at::Tensor& target, int64_t nx,
                                   int64_t ny, double robust,
                                   bool zero_boundary);
bool has_cuda();

// Implementations, for checked arguments.
at::Tensor forward_cpu(Op op, const at::Tensor& A, const at::Tensor& points,
                       const Sizes& n);
std::vector<at::Tensor> backward_cpu(Op op, const at::Tensor& A,
                                     const at::Tensor& points,
                                     const at::Tensor& grad_out,
                                     const Sizes& n);
at::Tensor affine_flow_cpu(const at::Tensor& A, const at::Tensor& s,
                           const at::Tensor& x);
std::vector<at::Tensor> affine_flow_backward_cpu(const at::Tensor& A,
                                                 const at::Tensor& s,
                                                 const at::Tensor& x,
                                                 const at::Tensor& grad);
void fit_system_cpu(const at::Tensor& A, const at::Tensor& basis,
                    const at::Tensor& control, const at::Tensor& target,
                    at::Tensor& J, at::Tensor& b, at::Tensor& mean_square,
                    FitSizes s);
#ifdef WITH_CUDA
at::Tensor forward_cuda(Op op, const at::Tensor& A, const at::Tensor& points,
                        const Sizes& n);
std::vector<at::Tensor> backward_cuda(Op op, const at::Tensor& A,
                                      const at::Tensor& points,
                                      const at::Tensor& grad_out,
                                      const Sizes& n);
void fit_system_cuda(const at::Tensor& A, const at::Tensor& basis,
                     const at::Tensor& control, const at::Tensor& target,
                     at::Tensor& J, at::Tensor& b, at::Tensor& mean_square,
                     FitSizes s);
#endif

}  // namespace cpab
