// CPU implementations of the CPAB ops: one OpenMP task (at::parallel_for)
// per block of points.  Gradients with respect to A are accumulated per
// (transformation, fixed chunk of points) and the chunks are summed in a
// fixed order, so results do not depend on the number of threads and two
// runs are bit-identical.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/zeros.h>

#include <algorithm>

#include "cpab/cpab.h"
#include "cpab/cpab_integrate.h"
#include "cpab/cpab_velocity.h"

namespace cpab {
namespace {

// Points per parallel task of the forward passes.
constexpr int64_t kGrain = 64;
// Chunks of points with their own partial gradient of A: at least
// kMinChunk points each, at most kMaxChunks chunks per transformation.
constexpr int64_t kMinChunk = 256;
constexpr int64_t kMaxChunks = 64;

// Calls fn(t, p) for every point of every transformation.
template <typename Fn>
void for_each_point(const Sizes& n, const Fn& fn) {
  at::parallel_for(0, n.T * n.P, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) fn(i / n.P, i % n.P);
  });
}

// Calls fn(t, p, add) for every point, where add(k, value) accumulates into
// entry k of the gradient of A[t] (nT * 6 entries); returns that gradient,
// [T, nT * 6] in double, summed deterministically (see the file comment).
template <typename Fn>
at::Tensor accumulate_grad_A(const Sizes& n, const Fn& fn) {
  const int64_t n_chunks =
      std::min(kMaxChunks, std::max<int64_t>(1, (n.P + kMinChunk - 1) / kMinChunk));
  const int64_t chunk = (n.P + n_chunks - 1) / n_chunks;
  const int64_t K = 6 * n.nT;
  at::Tensor partial = at::zeros({n.T, n_chunks, K}, at::kDouble);
  double* part = partial.data_ptr<double>();
  at::parallel_for(0, n.T * n_chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t w = begin; w < end; ++w) {
      const int64_t t = w / n_chunks;
      const int64_t p_begin = (w % n_chunks) * chunk;
      const int64_t p_end = std::min(n.P, p_begin + chunk);
      double* buf = part + w * K;
      auto add = [buf](int k, double value) { buf[k] += value; };
      for (int64_t p = p_begin; p < p_end; ++p) fn(t, p, add);
    }
  });
  at::Tensor grad = at::empty({n.T, K}, at::kDouble);
  double* out = grad.data_ptr<double>();
  at::parallel_for(0, n.T * K, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const double* src = part + (i / K) * n_chunks * K + i % K;
      double sum = 0.0;
      for (int64_t c = 0; c < n_chunks; ++c) sum += src[c * K];
      out[i] = sum;
    }
  });
  return grad;
}

template <typename scalar_t>
void velocity_kernel(const scalar_t* A, const scalar_t* pts, scalar_t* out,
                     const Sizes& n) {
  for_each_point(n, [&](int64_t t, int64_t p) {
    const scalar_t* x = pts + t * n.pt_stride + 2 * p;
    double v0, v1;
    point_velocity(A + t * n.nT * 6, static_cast<double>(x[0]),
                   static_cast<double>(x[1]), n.nx, n.ny, v0, v1);
    scalar_t* o = out + (t * n.P + p) * 2;
    o[0] = static_cast<scalar_t>(v0);
    o[1] = static_cast<scalar_t>(v1);
  });
}

template <typename scalar_t>
at::Tensor velocity_backward_kernel(const scalar_t* A, const scalar_t* pts,
                                    const scalar_t* grad_out,
                                    scalar_t* grad_pts, const Sizes& n) {
  return accumulate_grad_A(n, [&](int64_t t, int64_t p, auto& add) {
    const scalar_t* x = pts + t * n.pt_stride + 2 * p;
    const int64_t i = (t * n.P + p) * 2;
    double gx, gy;
    point_velocity_backward(A + t * n.nT * 6, static_cast<double>(x[0]),
                            static_cast<double>(x[1]),
                            static_cast<double>(grad_out[i]),
                            static_cast<double>(grad_out[i + 1]), n.nx, n.ny,
                            add, gx, gy);
    grad_pts[i] = static_cast<scalar_t>(gx);
    grad_pts[i + 1] = static_cast<scalar_t>(gy);
  });
}

template <typename scalar_t>
void integrate_kernel(const scalar_t* A, const scalar_t* pts, scalar_t* out,
                      const Sizes& n) {
  for_each_point(n, [&](int64_t t, int64_t p) {
    const scalar_t* x = pts + t * n.pt_stride + 2 * p;
    double y0, y1;
    point_integrate(A + t * n.nT * 6, static_cast<double>(x[0]),
                    static_cast<double>(x[1]), n.nx, n.ny, y0, y1);
    scalar_t* o = out + (t * n.P + p) * 2;
    o[0] = static_cast<scalar_t>(y0);
    o[1] = static_cast<scalar_t>(y1);
  });
}

template <typename scalar_t>
at::Tensor integrate_backward_kernel(const scalar_t* A, const scalar_t* pts,
                                     const scalar_t* grad_out,
                                     scalar_t* grad_pts, const Sizes& n) {
  return accumulate_grad_A(n, [&](int64_t t, int64_t p, auto& add) {
    const scalar_t* x = pts + t * n.pt_stride + 2 * p;
    const int64_t i = (t * n.P + p) * 2;
    double gx, gy;
    point_integrate_backward(A + t * n.nT * 6, static_cast<double>(x[0]),
                             static_cast<double>(x[1]),
                             static_cast<double>(grad_out[i]),
                             static_cast<double>(grad_out[i + 1]), n.nx, n.ny,
                             add, gx, gy);
    grad_pts[i] = static_cast<scalar_t>(gx);
    grad_pts[i + 1] = static_cast<scalar_t>(gy);
  });
}

// Sum of grad_pts [T, P, 2] over T, in a fixed order: the gradient of
// points shared by every transformation.
at::Tensor sum_over_transformations(const at::Tensor& grad_pts) {
  const int64_t T = grad_pts.size(0);
  const int64_t K = grad_pts.size(1) * 2;
  at::Tensor sum = at::empty({grad_pts.size(1), 2}, grad_pts.options());
  AT_DISPATCH_FLOATING_TYPES(grad_pts.scalar_type(), "cpab_sum_over_t", [&] {
    const scalar_t* src = grad_pts.data_ptr<scalar_t>();
    scalar_t* dst = sum.data_ptr<scalar_t>();
    at::parallel_for(0, K, 1024, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        double acc = 0.0;
        for (int64_t t = 0; t < T; ++t) acc += static_cast<double>(src[t * K + i]);
        dst[i] = static_cast<scalar_t>(acc);
      }
    });
  });
  return sum;
}

// Runs a backward kernel and shapes its results like A and points.
template <typename Kernel>
std::vector<at::Tensor> run_backward(const at::Tensor& A,
                                     const at::Tensor& points,
                                     const at::Tensor& grad_out, const Sizes& n,
                                     const Kernel& kernel) {
  at::Tensor grad_pts = at::empty({n.T, n.P, 2}, A.options());
  at::Tensor grad_A;
  AT_DISPATCH_FLOATING_TYPES(A.scalar_type(), "cpab_backward_cpu", [&] {
    grad_A = kernel(A.data_ptr<scalar_t>(), points.data_ptr<scalar_t>(),
                    grad_out.data_ptr<scalar_t>(),
                    grad_pts.data_ptr<scalar_t>());
  });
  if (n.pt_stride == 0) grad_pts = sum_over_transformations(grad_pts);
  return {grad_A.to(A.scalar_type()).view(A.sizes()), grad_pts};
}

}  // namespace

at::Tensor velocity_cpu(const at::Tensor& A, const at::Tensor& points,
                        const Sizes& n) {
  at::Tensor out = at::empty({n.T, n.P, 2}, A.options());
  AT_DISPATCH_FLOATING_TYPES(A.scalar_type(), "cpab_velocity_cpu", [&] {
    velocity_kernel(A.data_ptr<scalar_t>(), points.data_ptr<scalar_t>(),
                    out.data_ptr<scalar_t>(), n);
  });
  return out;
}

std::vector<at::Tensor> velocity_backward_cpu(const at::Tensor& A,
                                              const at::Tensor& points,
                                              const at::Tensor& grad_out,
                                              const Sizes& n) {
  return run_backward(A, points, grad_out, n, [&](auto a, auto x, auto g, auto gx) {
    return velocity_backward_kernel(a, x, g, gx, n);
  });
}

at::Tensor integrate_cpu(const at::Tensor& A, const at::Tensor& points,
                         const Sizes& n) {
  at::Tensor out = at::empty({n.T, n.P, 2}, A.options());
  AT_DISPATCH_FLOATING_TYPES(A.scalar_type(), "cpab_integrate_cpu", [&] {
    integrate_kernel(A.data_ptr<scalar_t>(), points.data_ptr<scalar_t>(),
                     out.data_ptr<scalar_t>(), n);
  });
  return out;
}

std::vector<at::Tensor> integrate_backward_cpu(const at::Tensor& A,
                                               const at::Tensor& points,
                                               const at::Tensor& grad_out,
                                               const Sizes& n) {
  return run_backward(A, points, grad_out, n, [&](auto a, auto x, auto g, auto gx) {
    return integrate_backward_kernel(a, x, g, gx, n);
  });
}

at::Tensor affine_expm_cpu(const at::Tensor& X) {
  at::Tensor E = at::empty_like(X);
  AT_DISPATCH_FLOATING_TYPES(X.scalar_type(), "affine_expm_cpu", [&] {
    const scalar_t* x = X.data_ptr<scalar_t>();
    scalar_t* e = E.data_ptr<scalar_t>();
    at::parallel_for(0, X.size(0), kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        double a[6], r[6];
        for (int k = 0; k < 6; ++k) a[k] = static_cast<double>(x[6 * i + k]);
        affine_expm(a, 1.0, r);
        for (int k = 0; k < 6; ++k) e[6 * i + k] = static_cast<scalar_t>(r[k]);
      }
    });
  });
  return E;
}

at::Tensor affine_expm_backward_cpu(const at::Tensor& X,
                                    const at::Tensor& grad_E) {
  at::Tensor grad_X = at::empty_like(X);
  AT_DISPATCH_FLOATING_TYPES(X.scalar_type(), "affine_expm_backward_cpu", [&] {
    const scalar_t* x = X.data_ptr<scalar_t>();
    const scalar_t* ge = grad_E.data_ptr<scalar_t>();
    scalar_t* gx = grad_X.data_ptr<scalar_t>();
    at::parallel_for(0, X.size(0), kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        double a[6], g[9] = {0.0}, r[6], ft[4];
        for (int k = 0; k < 6; ++k) {
          a[k] = static_cast<double>(x[6 * i + k]);
          g[k] = static_cast<double>(ge[6 * i + k]);
        }
        affine_expm_adjoint(a, g, r, ft);
        for (int k = 0; k < 6; ++k) gx[6 * i + k] = static_cast<scalar_t>(r[k]);
      }
    });
  });
  return grad_X;
}

}  // namespace cpab
