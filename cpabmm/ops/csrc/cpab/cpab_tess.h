// The 2-D CPAB tessellation of [0,1]^2 as the kernels see it: point location
// (libcpab's rule), for host and device.
//
// Layout of the per-triangle matrices A [T, nT, 2, 3], nT = 4 * nx * ny:
// cells x-fastest (cell = cy * nx + cx), 4 triangles per cell in the order
// [bottom, right, top, left], each 2x3 matrix row-major.
#pragma once

#include "cpab/cpab_affine.h"

namespace cpab {

// Index of the cell along one axis: floor(f), clamped to [0, n - 1] in
// floating point first (so NaN and huge values cannot overflow an int).
CPAB_HD int clamped_cell(double f, int n) {
  double c = floor(f);
  if (!(c > 0.0)) c = 0.0;  // also maps NaN to 0
  if (c > n - 1) c = n - 1;
  return static_cast<int>(c);
}

// Triangle index of (x, y): the clamped cell, with the triangle chosen from
// the *unclamped* local coordinates, so that points outside the domain take
// the region of the nearest boundary triangle.
CPAB_HD int locate(double x, double y, int nx, int ny) {
  const double fx = x * nx;
  const double fy = y * ny;
  const int cx = clamped_cell(fx, nx);
  const int cy = clamped_cell(fy, ny);
  const double u = fx - cx;
  const double w = fy - cy;
  int tri;
  if (u < w) {
    tri = (1.0 - u < w) ? 2 : 3;  // top : left
  } else {
    tri = (1.0 - u < w) ? 1 : 0;  // right : bottom
  }
  return 4 * (cx + cy * nx) + tri;
}

}  // namespace cpab
