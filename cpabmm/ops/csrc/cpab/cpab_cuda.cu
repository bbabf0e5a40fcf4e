// CUDA implementations of the CPAB ops: one thread per point, the same
// per-point code as the CPU (cpab_integrate.h, cpab_velocity.h).  The
// backward kernels give each block the points of one transformation and sum
// the gradient of A in shared memory before adding it to global memory;
// both sums use atomic additions, so the gradient of A is not bit-for-bit
// reproducible on CUDA (the points' gradients are).
#include <ATen/Dispatch.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/sum.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <algorithm>

#include "cpab/cpab.h"

namespace cpab {
namespace {

constexpr int kThreads = 256;
// Threads of the fit_system kernel's blocks (one block per problem).
constexpr int kFitThreads = 128;
constexpr int64_t kMaxGridY = 65535;
// Shared memory for the per-block gradient of A (the default limit).
constexpr int64_t kMaxSharedBytes = 48 * 1024;

template <Op op, typename scalar_t>
__global__ void forward_kernel(const scalar_t* __restrict__ A,
                               const scalar_t* __restrict__ pts,
                               scalar_t* __restrict__ out, Sizes n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n.T * n.P) return;
  forward_point<op>(A, pts, out, n, i / n.P, i % n.P);
}

// Accumulates into a gradient buffer of one transformation.
struct AtomicAdd {
  double* buf;
  __device__ void operator()(int k, double value) const {
    if (value != 0.0) atomicAdd(buf + k, value);
  }
};

// Grid: x over blocks of points, y over transformations (grid-stride).
template <Op op, typename scalar_t>
__global__ void backward_kernel(const scalar_t* __restrict__ A,
                                const scalar_t* __restrict__ pts,
                                const scalar_t* __restrict__ grad_out,
                                scalar_t* __restrict__ grad_pts,
                                double* __restrict__ grad_A, Sizes n,
                                bool use_shared) {
  extern __shared__ double shared[];
  const int64_t K = 6 * n.nT;
  const int64_t p = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  for (int64_t t = blockIdx.y; t < n.T; t += gridDim.y) {
    if (use_shared) {
      for (int64_t k = threadIdx.x; k < K; k += blockDim.x) shared[k] = 0.0;
      __syncthreads();
    }
    AtomicAdd add{use_shared ? shared : grad_A + t * K};
    if (p < n.P) backward_point<op>(A, pts, grad_out, grad_pts, n, t, p, add);
    if (use_shared) {
      __syncthreads();
      for (int64_t k = threadIdx.x; k < K; k += blockDim.x)
        if (shared[k] != 0.0) atomicAdd(grad_A + t * K + k, shared[k]);
      __syncthreads();
    }
  }
}

// One block per problem (grid-stride over problems): the points' rows, a
// synchronisation, the problem's factors (one thread: n is small), another,
// then J and b entry by entry.
template <typename scalar_t>
__global__ void fit_system_kernel(const scalar_t* __restrict__ A,
                                  const scalar_t* __restrict__ basis,
                                  const scalar_t* __restrict__ control,
                                  const scalar_t* __restrict__ target,
                                  scalar_t* __restrict__ J,
                                  scalar_t* __restrict__ b,
                                  scalar_t* __restrict__ mean_square,
                                  double* __restrict__ rows, FitSizes s) {
  for (int64_t g = blockIdx.x; g < s.G; g += gridDim.x) {
    for (int64_t p = threadIdx.x; p < s.n; p += blockDim.x)
      fit_point(A, control, target, rows, s, g, p);
    __syncthreads();
    if (threadIdx.x == 0) fit_factors(control, target, rows, mean_square, s, g);
    __syncthreads();
    const int64_t entries = 2 * s.n * s.d;
    for (int64_t e = threadIdx.x; e < entries; e += blockDim.x) {
      const int64_t row = e / s.d;
      fit_entry(basis, rows, J, s, g, row / 2, static_cast<int>(row % 2),
                e % s.d);
    }
    for (int64_t row = threadIdx.x; row < 2 * s.n; row += blockDim.x)
      fit_rhs(rows, b, s, g, row / 2, static_cast<int>(row % 2));
  }
}

int64_t blocks_for(int64_t count) { return (count + kThreads - 1) / kThreads; }

}  // namespace

at::Tensor forward_cuda(Op op, const at::Tensor& A, const at::Tensor& points,
                        const Sizes& n) {
  const c10::cuda::CUDAGuard guard(A.device());
  at::Tensor out = at::empty({n.T, n.P, 2}, A.options());
  if (n.T * n.P == 0) return out;
  const auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(A.scalar_type(), "cpab_forward_cuda", [&] {
    auto kernel = op == Op::kIntegrate
                      ? forward_kernel<Op::kIntegrate, scalar_t>
                      : forward_kernel<Op::kVelocity, scalar_t>;
    kernel<<<blocks_for(n.T * n.P), kThreads, 0, stream>>>(
        A.data_ptr<scalar_t>(), points.data_ptr<scalar_t>(),
        out.data_ptr<scalar_t>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

std::vector<at::Tensor> backward_cuda(Op op, const at::Tensor& A,
                                      const at::Tensor& points,
                                      const at::Tensor& grad_out,
                                      const Sizes& n) {
  const c10::cuda::CUDAGuard guard(A.device());
  at::Tensor grad_A =
      at::zeros({n.T, 6 * n.nT}, A.options().dtype(at::kDouble));
  at::Tensor grad_pts = at::empty({n.T, n.P, 2}, A.options());
  if (n.T * n.P > 0) {
    const int64_t shared_bytes =
        6 * n.nT * static_cast<int64_t>(sizeof(double));
    const bool use_shared = shared_bytes <= kMaxSharedBytes;
    const dim3 grid(blocks_for(n.P), std::min(n.T, kMaxGridY));
    const auto stream = c10::cuda::getCurrentCUDAStream();
    AT_DISPATCH_FLOATING_TYPES(A.scalar_type(), "cpab_backward_cuda", [&] {
      auto kernel = op == Op::kIntegrate
                        ? backward_kernel<Op::kIntegrate, scalar_t>
                        : backward_kernel<Op::kVelocity, scalar_t>;
      kernel<<<grid, kThreads, use_shared ? shared_bytes : 0, stream>>>(
          A.data_ptr<scalar_t>(), points.data_ptr<scalar_t>(),
          grad_out.data_ptr<scalar_t>(), grad_pts.data_ptr<scalar_t>(),
          grad_A.data_ptr<double>(), n, use_shared);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  if (n.pt_stride == 0) grad_pts = grad_pts.sum(0);
  return {grad_A.to(A.scalar_type()).view(A.sizes()), grad_pts};
}

void fit_system_cuda(const at::Tensor& A, const at::Tensor& basis,
                     const at::Tensor& control, const at::Tensor& target,
                     at::Tensor& J, at::Tensor& b, at::Tensor& mean_square,
                     FitSizes s) {
  const c10::cuda::CUDAGuard guard(basis.device());
  at::Tensor rows = at::empty({s.G * s.n * kFitFields},
                              basis.options().dtype(at::kDouble));
  const auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(basis.scalar_type(), "cpab_fit_system_cuda", [&] {
    fit_system_kernel<scalar_t><<<std::min(s.G, kMaxGridY), kFitThreads, 0,
                                  stream>>>(
        s.start ? nullptr : A.data_ptr<scalar_t>(), basis.data_ptr<scalar_t>(),
        control.data_ptr<scalar_t>(), target.data_ptr<scalar_t>(),
        J.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(),
        s.start ? mean_square.data_ptr<scalar_t>() : nullptr,
        rows.data_ptr<double>(), s);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
}

}  // namespace cpab
