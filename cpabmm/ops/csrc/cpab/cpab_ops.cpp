// Argument checks and device dispatch of the CPAB ops: every tensor is
// validated here, so that no kernel ever sees a shape, dtype, layout or
// device it was not written for.
#include <ATen/ops/empty.h>

#include <limits>

#include "cpab/cpab.h"

namespace cpab {
namespace {

// Largest tessellation side accepted (keeps every index in int range).
constexpr int64_t kMaxCells = 1 << 12;
constexpr const char* kNoCuda =
    "cpabmm._ext was built without CUDA; rebuild it with FORCE_CUDA=1 or use "
    "the CPU or the reference path";

void check_float_tensor(const at::Tensor& t, const char* name) {
  TORCH_CHECK_VALUE(t.defined(), name, " is undefined");
  TORCH_CHECK_VALUE(
      t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble, name,
      " must be float32 or float64, got ", t.scalar_type());
  TORCH_CHECK_VALUE(t.is_contiguous(), name, " must be contiguous");
  TORCH_CHECK_VALUE(t.device().is_cpu() || t.device().is_cuda(), name,
                    " must be on the CPU or a CUDA device, got ", t.device());
}

void check_like(const at::Tensor& t, const at::Tensor& A, const char* name) {
  TORCH_CHECK_VALUE(t.scalar_type() == A.scalar_type(), name, " has dtype ",
                    t.scalar_type(), " but A has ", A.scalar_type());
  TORCH_CHECK_VALUE(t.device() == A.device(), name, " is on ", t.device(),
                    " but A is on ", A.device());
}

// Checks A and points and returns the problem sizes.
Sizes check_inputs(const at::Tensor& A, const at::Tensor& points, int64_t nx,
                   int64_t ny) {
  check_float_tensor(A, "A");
  check_float_tensor(points, "points");
  check_like(points, A, "points");
  TORCH_CHECK_VALUE(nx >= 1 && ny >= 1 && nx <= kMaxCells && ny <= kMaxCells,
                    "nc must be two integers in [1, ", kMaxCells, "], got (",
                    nx, ", ", ny, ")");
  TORCH_CHECK_VALUE(A.dim() == 4 && A.size(1) == 4 * nx * ny &&
                        A.size(2) == 2 && A.size(3) == 3,
                    "A must have shape [T, ", 4 * nx * ny, ", 2, 3] for nc = (",
                    nx, ", ", ny, "), got ", A.sizes());
  Sizes n;
  n.T = A.size(0);
  n.nT = A.size(1);
  n.nx = static_cast<int>(nx);
  n.ny = static_cast<int>(ny);
  if (points.dim() == 2) {
    TORCH_CHECK_VALUE(points.size(1) == 2,
                      "points must have shape [P, 2] or [T, P, 2], got ",
                      points.sizes());
    n.P = points.size(0);
    n.pt_stride = 0;
  } else {
    TORCH_CHECK_VALUE(
        points.dim() == 3 && points.size(0) == n.T && points.size(2) == 2,
        "points must have shape [P, 2] or [", n.T, ", P, 2], got ",
        points.sizes());
    n.P = points.size(1);
    n.pt_stride = 2 * n.P;
  }
  return n;
}

void check_grad(const at::Tensor& grad_out, const at::Tensor& A,
                const Sizes& n) {
  check_float_tensor(grad_out, "grad_out");
  check_like(grad_out, A, "grad_out");
  TORCH_CHECK_VALUE(grad_out.dim() == 3 && grad_out.size(0) == n.T &&
                        grad_out.size(1) == n.P && grad_out.size(2) == 2,
                    "grad_out must have shape [", n.T, ", ", n.P, ", 2], got ",
                    grad_out.sizes());
}

at::Tensor forward(Op op, const at::Tensor& A, const at::Tensor& points,
                   int64_t nx, int64_t ny) {
  const Sizes n = check_inputs(A, points, nx, ny);
  if (A.is_cuda()) {
#ifdef WITH_CUDA
    return forward_cuda(op, A, points, n);
#else
    TORCH_CHECK_VALUE(false, kNoCuda);
#endif
  }
  return forward_cpu(op, A, points, n);
}

std::vector<at::Tensor> backward(Op op, const at::Tensor& A,
                                 const at::Tensor& points,
                                 const at::Tensor& grad_out, int64_t nx,
                                 int64_t ny) {
  const Sizes n = check_inputs(A, points, nx, ny);
  check_grad(grad_out, A, n);
  if (A.is_cuda()) {
#ifdef WITH_CUDA
    return backward_cuda(op, A, points, grad_out, n);
#else
    TORCH_CHECK_VALUE(false, kNoCuda);
#endif
  }
  return backward_cpu(op, A, points, grad_out, n);
}

void check_flow_inputs(const at::Tensor& A, const at::Tensor& s,
                       const at::Tensor& x) {
  check_float_tensor(A, "A");
  TORCH_CHECK_VALUE(A.device().is_cpu(), "A must be on the CPU");
  TORCH_CHECK_VALUE(A.dim() == 3 && A.size(1) == 2 && A.size(2) == 3,
                    "A must have shape [N, 2, 3], got ", A.sizes());
  check_float_tensor(s, "s");
  check_float_tensor(x, "x");
  check_like(s, A, "s");
  check_like(x, A, "x");
  const int64_t N = A.size(0);
  TORCH_CHECK_VALUE(s.dim() == 1 && s.size(0) == N, "s must have shape [", N,
                    "], got ", s.sizes());
  TORCH_CHECK_VALUE(x.dim() == 2 && x.size(0) == N && x.size(1) == 2,
                    "x must have shape [", N, ", 2], got ", x.sizes());
}

// Checks the fit's points [G, n, 2] against A (when given) and the basis.
void check_fit_points(const at::Tensor& t, const at::Tensor& basis,
                      const char* name) {
  check_float_tensor(t, name);
  check_like(t, basis, name);
  TORCH_CHECK_VALUE(t.dim() == 3 && t.size(1) >= 1 && t.size(2) == 2, name,
                    " must have shape [G, n, 2] with n >= 1, got ", t.sizes());
}

// Checks the arguments of fit_system and returns the problem sizes.
FitSizes check_fit_inputs(const std::optional<at::Tensor>& A,
                          const at::Tensor& basis, const at::Tensor& control,
                          const at::Tensor& target, int64_t nx, int64_t ny) {
  check_float_tensor(basis, "basis");
  TORCH_CHECK_VALUE(nx >= 1 && ny >= 1 && nx <= kMaxCells && ny <= kMaxCells,
                    "nc must be two integers in [1, ", kMaxCells, "], got (",
                    nx, ", ", ny, ")");
  const int64_t nT = 4 * nx * ny;
  TORCH_CHECK_VALUE(basis.dim() == 2 && basis.size(0) == 6 * nT,
                    "basis must have shape [", 6 * nT, ", d] for nc = (", nx,
                    ", ", ny, "), got ", basis.sizes());
  check_fit_points(control, basis, "control");
  check_fit_points(target, basis, "target");
  TORCH_CHECK_VALUE(target.sizes() == control.sizes(),
                    "target must have the shape of control ", control.sizes(),
                    ", got ", target.sizes());
  FitSizes s;
  s.G = control.size(0);
  s.n = control.size(1);
  s.d = basis.size(1);
  s.nT = nT;
  s.nx = static_cast<int>(nx);
  s.ny = static_cast<int>(ny);
  s.start = !A.has_value();
  if (A.has_value()) {
    check_float_tensor(*A, "A");
    check_like(*A, basis, "A");
    TORCH_CHECK_VALUE(A->dim() == 4 && A->size(0) == s.G && A->size(1) == nT &&
                          A->size(2) == 2 && A->size(3) == 3,
                      "A must have shape [", s.G, ", ", nT, ", 2, 3], got ",
                      A->sizes());
  }
  return s;
}

}  // namespace

at::Tensor velocity(const at::Tensor& A, const at::Tensor& points, int64_t nx,
                    int64_t ny) {
  return forward(Op::kVelocity, A, points, nx, ny);
}

std::vector<at::Tensor> velocity_backward(const at::Tensor& A,
                                          const at::Tensor& points,
                                          const at::Tensor& grad_out,
                                          int64_t nx, int64_t ny) {
  return backward(Op::kVelocity, A, points, grad_out, nx, ny);
}

at::Tensor integrate(const at::Tensor& A, const at::Tensor& points, int64_t nx,
                     int64_t ny) {
  return forward(Op::kIntegrate, A, points, nx, ny);
}

std::vector<at::Tensor> integrate_backward(const at::Tensor& A,
                                           const at::Tensor& points,
                                           const at::Tensor& grad_out,
                                           int64_t nx, int64_t ny) {
  return backward(Op::kIntegrate, A, points, grad_out, nx, ny);
}

at::Tensor affine_flow(const at::Tensor& A, const at::Tensor& s,
                       const at::Tensor& x) {
  check_flow_inputs(A, s, x);
  return affine_flow_cpu(A, s, x);
}

std::vector<at::Tensor> affine_flow_backward(const at::Tensor& A,
                                             const at::Tensor& s,
                                             const at::Tensor& x,
                                             const at::Tensor& grad) {
  check_flow_inputs(A, s, x);
  check_float_tensor(grad, "grad");
  check_like(grad, A, "grad");
  TORCH_CHECK_VALUE(grad.sizes() == x.sizes(), "grad must have the shape of x ",
                    x.sizes(), ", got ", grad.sizes());
  return affine_flow_backward_cpu(A, s, x, grad);
}

std::vector<at::Tensor> fit_system(const std::optional<at::Tensor>& A,
                                   const at::Tensor& basis,
                                   const at::Tensor& control,
                                   const at::Tensor& target, int64_t nx,
                                   int64_t ny, double robust,
                                   bool zero_boundary) {
  FitSizes s = check_fit_inputs(A, basis, control, target, nx, ny);
  s.robust = robust;
  s.zero_boundary = zero_boundary;
  s.eps = basis.scalar_type() == at::kFloat
              ? std::numeric_limits<float>::epsilon()
              : std::numeric_limits<double>::epsilon();
  const at::Tensor fields = A.has_value() ? *A : at::Tensor();
  at::Tensor J = at::empty({s.G, 2 * s.n, s.d}, basis.options());
  at::Tensor b = at::empty({s.G, 2 * s.n}, basis.options());
  at::Tensor mean_square;  // undefined (None) for a step
  if (s.start) mean_square = at::empty({s.G, 1, 1}, basis.options());
  if (s.G > 0) {
    if (basis.is_cuda()) {
#ifdef WITH_CUDA
      fit_system_cuda(fields, basis, control, target, J, b, mean_square, s);
#else
      TORCH_CHECK_VALUE(false, kNoCuda);
#endif
    } else {
      fit_system_cpu(fields, basis, control, target, J, b, mean_square, s);
    }
  }
  return {J, b, mean_square};
}

bool has_cuda() {
#ifdef WITH_CUDA
  return true;
#else
  return false;
#endif
}

}  // namespace cpab
