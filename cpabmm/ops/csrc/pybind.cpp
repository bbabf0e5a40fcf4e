// Python bindings of cpabmm._ext.
#include <torch/python.h>

#include "cpab/cpab.h"

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "Compiled ops of cpabmm (CPU, and CUDA when built with it)";
  m.def("has_cuda", &cpab::has_cuda,
        "Whether the CUDA kernels were compiled in");
  m.def("cpab_velocity", &cpab::velocity, "CPAB velocity field", py::arg("A"),
        py::arg("points"), py::arg("nx"), py::arg("ny"));
  m.def("cpab_velocity_backward", &cpab::velocity_backward,
        "Gradients of the CPAB velocity field: [grad_A, grad_points]",
        py::arg("A"), py::arg("points"), py::arg("grad_out"), py::arg("nx"),
        py::arg("ny"));
  m.def("cpab_integrate", &cpab::integrate,
        "CPAB transformation: the flow of the velocity field at time 1",
        py::arg("A"), py::arg("points"), py::arg("nx"), py::arg("ny"));
  m.def("cpab_integrate_backward", &cpab::integrate_backward,
        "Gradients of the CPAB transformation: [grad_A, grad_points]",
        py::arg("A"), py::arg("points"), py::arg("grad_out"), py::arg("nx"),
        py::arg("ny"));
  m.def("fit_system", &cpab::fit_system,
        "The fast CPAB solver's linearised system: [J, b, mean_square] for "
        "its start (A None) or a Gauss-Newton step at A",
        py::arg("A"), py::arg("basis"), py::arg("control"), py::arg("target"),
        py::arg("nx"), py::arg("ny"), py::arg("robust"),
        py::arg("zero_boundary"));
  m.def("affine_flow", &cpab::affine_flow,
        "Flow of affine fields A [N, 2, 3] for times s [N] from x [N, 2] "
        "(spectral radius of s L <= 1.5; CPU)",
        py::arg("A"), py::arg("s"), py::arg("x"));
  m.def("affine_flow_backward", &cpab::affine_flow_backward,
        "Reverse mode of affine_flow: [grad_A, grad_x] (CPU)", py::arg("A"),
        py::arg("s"), py::arg("x"), py::arg("grad"));
}
