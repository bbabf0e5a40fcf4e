// CPU implementations of the CPAB ops: OpenMP tasks over blocks of points.
// Gradients with respect to A are accumulated per (transformation, fixed
// chunk of points) and the chunks are summed in a fixed order, so results do
// not depend on the number of threads and two runs are bit-identical.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/zeros.h>
#include <omp.h>

#include <algorithm>
#include <vector>

#include "cpab/cpab.h"

namespace cpab {
namespace {

// Points per parallel task of the forward passes.
constexpr int64_t kGrain = 64;
// Chunks of points with their own partial gradient of A: at least
// kMinChunk points each, at most kMaxChunks chunks per transformation.
constexpr int64_t kMinChunk = 256;
constexpr int64_t kMaxChunks = 64;

// Calls fn(i) for i in [0, n) on torch's number of threads, handing the
// tasks out dynamically: points cost unequal times, and on a busy machine
// the threads get unequal shares of the cores.
template <typename Fn>
void parallel_tasks(int64_t n, const Fn& fn) {
#pragma omp parallel for schedule(dynamic) \
    num_threads(at::get_num_threads()) if (n > 1 && !omp_in_parallel())
  for (int64_t i = 0; i < n; ++i) fn(i);
}

// Calls fn(t, p) for every point of every transformation.
template <typename Fn>
void for_each_point(const Sizes& n, const Fn& fn) {
  const int64_t total = n.T * n.P;
  parallel_tasks((total + kGrain - 1) / kGrain, [&](int64_t task) {
    const int64_t end = std::min(total, (task + 1) * kGrain);
    for (int64_t i = task * kGrain; i < end; ++i) fn(i / n.P, i % n.P);
  });
}

// Calls fn(t, p, add) for every point, where add(k, value) accumulates into
// entry k of the gradient of A[t] (nT * 6 entries); returns that gradient,
// [T, nT * 6] in double, summed deterministically (see the file comment).
template <typename Fn>
at::Tensor accumulate_grad_A(const Sizes& n, const Fn& fn) {
  const int64_t n_chunks = std::min(
      kMaxChunks, std::max<int64_t>(1, (n.P + kMinChunk - 1) / kMinChunk));
  const int64_t chunk = (n.P + n_chunks - 1) / n_chunks;
  const int64_t K = 6 * n.nT;
  at::Tensor partial = at::zeros({n.T, n_chunks, K}, at::kDouble);
  double* part = partial.data_ptr<double>();
  parallel_tasks(n.T * n_chunks, [&](int64_t w) {
    const int64_t t = w / n_chunks;
    const int64_t p_begin = (w % n_chunks) * chunk;
    const int64_t p_end = std::min(n.P, p_begin + chunk);
    double* buf = part + w * K;
    auto add = [buf](int k, double value) { buf[k] += value; };
    for (int64_t p = p_begin; p < p_end; ++p) fn(t, p, add);
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

template <Op op, typename scalar_t>
void forward_kernel(const scalar_t* A, const scalar_t* pts, scalar_t* out,
                    const Sizes& n) {
  for_each_point(n, [&](int64_t t, int64_t p) {
    forward_point<op>(A, pts, out, n, t, p);
  });
}

// Writes the points' gradients to grad_pts [T, P, 2] and returns A's.
template <Op op, typename scalar_t>
at::Tensor backward_kernel(const scalar_t* A, const scalar_t* pts,
                           const scalar_t* grad_out, scalar_t* grad_pts,
                           const Sizes& n) {
  return accumulate_grad_A(n, [&](int64_t t, int64_t p, auto& add) {
    backward_point<op>(A, pts, grad_out, grad_pts, n, t, p, add);
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
        for (int64_t t = 0; t < T; ++t)
          acc += static_cast<double>(src[t * K + i]);
        dst[i] = static_cast<scalar_t>(acc);
      }
    });
  });
  return sum;
}

}  // namespace

at::Tensor forward_cpu(Op op, const at::Tensor& A, const at::Tensor& points,
                       const Sizes& n) {
  at::Tensor out = at::empty({n.T, n.P, 2}, A.options());
  AT_DISPATCH_FLOATING_TYPES(A.scalar_type(), "cpab_forward_cpu", [&] {
    auto kernel = op == Op::kIntegrate
                      ? forward_kernel<Op::kIntegrate, scalar_t>
                      : forward_kernel<Op::kVelocity, scalar_t>;
    kernel(A.data_ptr<scalar_t>(), points.data_ptr<scalar_t>(),
           out.data_ptr<scalar_t>(), n);
  });
  return out;
}

std::vector<at::Tensor> backward_cpu(Op op, const at::Tensor& A,
                                     const at::Tensor& points,
                                     const at::Tensor& grad_out,
                                     const Sizes& n) {
  at::Tensor grad_pts = at::empty({n.T, n.P, 2}, A.options());
  at::Tensor grad_A;
  AT_DISPATCH_FLOATING_TYPES(A.scalar_type(), "cpab_backward_cpu", [&] {
    auto kernel = op == Op::kIntegrate
                      ? backward_kernel<Op::kIntegrate, scalar_t>
                      : backward_kernel<Op::kVelocity, scalar_t>;
    grad_A =
        kernel(A.data_ptr<scalar_t>(), points.data_ptr<scalar_t>(),
               grad_out.data_ptr<scalar_t>(), grad_pts.data_ptr<scalar_t>(), n);
  });
  if (n.pt_stride == 0) grad_pts = sum_over_transformations(grad_pts);
  return {grad_A.to(A.scalar_type()).view(A.sizes()), grad_pts};
}

namespace {

// Runs fn(i, flow, s) for every row i of the affine_flow ops.
template <typename scalar_t, typename Fn>
void for_each_flow(const at::Tensor& A, const at::Tensor& s,
                   const at::Tensor& x, const Fn& fn) {
  const scalar_t* a = A.data_ptr<scalar_t>();
  const scalar_t* ts = s.data_ptr<scalar_t>();
  const scalar_t* xs = x.data_ptr<scalar_t>();
  at::parallel_for(0, A.size(0), kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      double m[6];
      load_affine(a + 6 * i, 0, m);
      const AffineFlow flow(m, static_cast<double>(xs[2 * i]),
                            static_cast<double>(xs[2 * i + 1]));
      fn(i, flow, static_cast<double>(ts[i]));
    }
  });
}

}  // namespace

at::Tensor affine_flow_cpu(const at::Tensor& A, const at::Tensor& s,
                           const at::Tensor& x) {
  at::Tensor out = at::empty_like(x);
  AT_DISPATCH_FLOATING_TYPES(A.scalar_type(), "affine_flow_cpu", [&] {
    scalar_t* o = out.data_ptr<scalar_t>();
    for_each_flow<scalar_t>(A, s, x,
                            [&](int64_t i, const AffineFlow& flow, double t) {
                              double y0, y1;
                              flow.at(t, y0, y1);
                              o[2 * i] = static_cast<scalar_t>(y0);
                              o[2 * i + 1] = static_cast<scalar_t>(y1);
                            });
  });
  return out;
}

std::vector<at::Tensor> affine_flow_backward_cpu(const at::Tensor& A,
                                                 const at::Tensor& s,
                                                 const at::Tensor& x,
                                                 const at::Tensor& grad) {
  at::Tensor grad_A = at::empty_like(A);
  at::Tensor grad_x = at::empty_like(x);
  AT_DISPATCH_FLOATING_TYPES(A.scalar_type(), "affine_flow_backward_cpu", [&] {
    const scalar_t* g = grad.data_ptr<scalar_t>();
    scalar_t* ga = grad_A.data_ptr<scalar_t>();
    scalar_t* gx = grad_x.data_ptr<scalar_t>();
    for_each_flow<scalar_t>(
        A, s, x, [&](int64_t i, const AffineFlow& flow, double t) {
          double gm[6], g0, g1;
          flow.backward(t, static_cast<double>(g[2 * i]),
                        static_cast<double>(g[2 * i + 1]), gm, g0, g1);
          for (int k = 0; k < 6; ++k)
            ga[6 * i + k] = static_cast<scalar_t>(gm[k]);
          gx[2 * i] = static_cast<scalar_t>(g0);
          gx[2 * i + 1] = static_cast<scalar_t>(g1);
        });
  });
  return {grad_A, grad_x};
}

void fit_system_cpu(const at::Tensor& A, const at::Tensor& basis,
                    const at::Tensor& control, const at::Tensor& target,
                    at::Tensor& J, at::Tensor& b, at::Tensor& mean_square,
                    FitSizes s) {
  // Per-point rows of every problem (a few kB: the fit's problems are small).
  std::vector<double> scratch(kFitFields * s.G * s.n);
  double* rows = scratch.data();
  AT_DISPATCH_FLOATING_TYPES(basis.scalar_type(), "cpab_fit_system_cpu", [&] {
    const scalar_t* a = s.start ? nullptr : A.data_ptr<scalar_t>();
    const scalar_t* c = control.data_ptr<scalar_t>();
    const scalar_t* t = target.data_ptr<scalar_t>();
    const scalar_t* B = basis.data_ptr<scalar_t>();
    scalar_t* out_J = J.data_ptr<scalar_t>();
    scalar_t* out_b = b.data_ptr<scalar_t>();
    scalar_t* ms = s.start ? mean_square.data_ptr<scalar_t>() : nullptr;
    const int64_t points = s.G * s.n;
    parallel_tasks((points + kGrain - 1) / kGrain, [&](int64_t task) {
      const int64_t end = std::min(points, (task + 1) * kGrain);
      for (int64_t i = task * kGrain; i < end; ++i)
        fit_point(a, c, t, rows, s, i / s.n, i % s.n);
    });
    parallel_tasks(s.G, [&](int64_t g) {
      fit_factors(c, t, rows, ms, s, g);
      for (int64_t p = 0; p < s.n; ++p) {
        for (int j = 0; j < 2; ++j) {
          for (int64_t k = 0; k < s.d; ++k)
            fit_entry(B, rows, out_J, s, g, p, j, k);
          fit_rhs(rows, out_b, s, g, p, j);
        }
      }
    });
  });
}

}  // namespace cpab
