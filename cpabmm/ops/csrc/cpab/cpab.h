// The CPAB ops of cpabmm._ext: validated entry points (cpab_ops.cpp) and the
// per-device implementations they dispatch to (cpab_cpu.cpp, cpab_cuda.cu).
//
// Shapes: A [T, nT, 2, 3] with nT = 4 * nx * ny (see cpab_tess.h for the
// order), points [P, 2] (shared by every transformation) or [T, P, 2]; all
// floating tensors contiguous, of one dtype (float32 or float64) and on one
// device.  Outputs are [T, P, 2]; gradients have the shapes of A and points.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

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
// The kernels' building blocks on their own (CPU), for tests: the flow of
// affine fields A [N, 2, 3] for times s [N] (spectral radius of s L <= 1.5)
// from points x [N, 2], and the gradient of <grad_E, expm([[X], [0 0 0]])>
// (top two rows) with respect to X [N, 2, 3].
at::Tensor affine_flow(const at::Tensor& A, const at::Tensor& s,
                       const at::Tensor& x);
at::Tensor expm_backward(const at::Tensor& X, const at::Tensor& grad_E);
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
at::Tensor expm_backward_cpu(const at::Tensor& X,
                                    const at::Tensor& grad_E);
#ifdef WITH_CUDA
at::Tensor forward_cuda(Op op, const at::Tensor& A, const at::Tensor& points,
                        const Sizes& n);
std::vector<at::Tensor> backward_cuda(Op op, const at::Tensor& A,
                                      const at::Tensor& points,
                                      const at::Tensor& grad_out,
                                      const Sizes& n);
#endif

}  // namespace cpab
