"""Triangulated tessellation of [0, 1]^2 and the CPA null-space basis.

Conventions (those of libcpab, so that bases and thetas can be compared):

* the domain is split into ``nx x ny`` square cells, numbered x-fastest
  (``cell = cy * nx + cx``); each cell is split into 4 triangles around its
  centre, in the order ``[bottom (small y), right (large x), top (large y),
  left (small x)]``, so triangle ``4 * cell + k``;
* the A-vector holds the 2x3 matrix of each triangle, row-major, triangle after
  triangle: ``A = (basis @ theta).view(nT, 2, 3)`` and the velocity on
  triangle ``c`` is ``A[c] @ [x, y, 1]``.

A point is assigned to a region by :func:`locate_cells`: the cell index is
clamped to the grid, and the triangle is chosen from the *unclamped* local
coordinates of the point in that cell. Outside the domain the boundary cells'
triangles therefore extend to infinity, bounded by the extended cell lines
and the extended cell diagonals.
"""
from functools import cached_property
from typing import List, Tuple

import numpy as np
import torch

#: Triangle order inside a cell.
TRIANGLES = ('bottom', 'right', 'top', 'left')


def locate_cells(points: torch.Tensor, nc: Tuple[int, int]
                 ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cell column, cell row and triangle (0..3) of each point ``[..., 2]``.

    The comparisons mirror libcpab's ``findcellidx_2D``: a point takes the
    clamped cell ``floor(p * n)``; with local coordinates ``lx = x * nx - cx``
    and ``ly = y * ny - cy`` (not clamped), the triangle is ``top`` if
    ``lx < ly`` and ``1 - lx < ly``, ``left`` if ``lx < ly`` only, ``right``
    if ``1 - lx < ly`` only, else ``bottom``. The two rules differ only on
    lines where the competing triangles' velocities agree.
    """
    nx, ny = nc
    sx = points[..., 0] * nx
    sy = points[..., 1] * ny
    cx = sx.floor().clamp(0, nx - 1)
    cy = sy.floor().clamp(0, ny - 1)
    lx = sx - cx
    ly = sy - cy
    upper_left = lx < ly            # above the diagonal lx = ly
    upper_right = (1 - lx) < ly     # above the anti-diagonal lx + ly = 1
    tri = torch.where(
        upper_left,
        torch.where(upper_right, 2, 3),
        torch.where(upper_right, 1, 0))
    return cx.long(), cy.long(), tri


def triangle_index(points: torch.Tensor, nc: Tuple[int, int]) -> torch.Tensor:
    """Index ``4 * (cy * nx + cx) + tri`` of the region holding each point."""
    cx, cy, tri = locate_cells(points, nc)
    return 4 * (cy * nc[0] + cx) + tri


class Tessellation:
    """Triangulation of [0, 1]^2 and the linear constraints on the A-vector.

    Args:
        nc: number of cells ``(nx, ny)``.
        zero_boundary: constrain the normal velocity to zero on the domain
            boundary (libcpab's ``zero_boundary``). When False, boundary
            triangles that meet at a boundary vertex are made continuous
            along the extended cell line outside the domain instead.
        volume_preservation: constrain every triangle's field to zero
            divergence (trace of its linear part).
    """

    def __init__(self, nc: Tuple[int, int], zero_boundary: bool = False,
                 volume_preservation: bool = False):
        self.nc = (int(nc[0]), int(nc[1]))
        self.zero_boundary = bool(zero_boundary)
        self.volume_preservation = bool(volume_preservation)

    @property
    def num_triangles(self) -> int:
        return 4 * self.nc[0] * self.nc[1]

    @property
    def D(self) -> int:
        """Length of the A-vector (6 numbers per triangle)."""
        return 6 * self.num_triangles

    def _tri(self, cx: int, cy: int, k: int) -> int:
        return 4 * (cy * self.nc[0] + cx) + k

    @cached_property
    def vertices(self) -> np.ndarray:
        """``[nT, 3, 2]``: centre, then the two cell corners of each triangle."""
        nx, ny = self.nc
        out = np.zeros((self.num_triangles, 3, 2))
        for cy in range(ny):
            for cx in range(nx):
                x0, x1 = cx / nx, (cx + 1) / nx
                y0, y1 = cy / ny, (cy + 1) / ny
                centre = ((x0 + x1) / 2, (y0 + y1) / 2)
                corners = [((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)),
                           ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))]
                for k, (a, b) in enumerate(corners):
                    out[self._tri(cx, cy, k)] = (centre, a, b)
        return out

    @property
    def centroids(self) -> np.ndarray:
        """``[nT, 2]`` triangle centroids (the prior's kernel points)."""
        return self.vertices.mean(axis=1)

    def _vertex_ids(self) -> Tuple[np.ndarray, np.ndarray]:
        """Global vertex index of each triangle vertex ``[nT, 3]`` and the
        vertex coordinates ``[nV, 2]`` (grid corners, then cell centres)."""
        nx, ny = self.nc
        corner_xy = np.stack(np.meshgrid(np.arange(nx + 1) / nx,
                                         np.arange(ny + 1) / ny), -1)
        coords = np.concatenate([corner_xy.reshape(-1, 2),
                                 self.vertices[::4, 0]])
        num_corners = (nx + 1) * (ny + 1)
        ids = np.zeros((self.num_triangles, 3), dtype=np.int64)
        for tri, tri_verts in enumerate(self.vertices):
            ids[tri, 0] = num_corners + tri // 4
            for k in (1, 2):
                ix = int(round(tri_verts[k, 0] * nx))
                iy = int(round(tri_verts[k, 1] * ny))
                ids[tri, k] = iy * (nx + 1) + ix
        return ids, coords

    def _vertex_parametrisation(self) -> np.ndarray:
        """``[D, 2 nV]`` map from vertex velocities to the A-vector.

        Its range is exactly the set of fields that are continuous across the
        triangles' shared edges: each triangle's 2x3 matrix interpolates the
        velocities of its three vertices.
        """
        ids, coords = self._vertex_ids()
        V = np.zeros((self.D, 2 * len(coords)))
        for tri in range(self.num_triangles):
            H = np.vstack([coords[ids[tri]].T, np.ones(3)])   # 3x3, columns [p; 1]
            Hinv = np.linalg.inv(H)                          # A = U @ Hinv
            for comp in range(2):
                for col in range(3):
                    r = 6 * tri + 3 * comp + col
                    V[r, 2 * ids[tri] + comp] = Hinv[:, col]
        return V

    def _row(self, tri: int, comp: int, point) -> np.ndarray:
        """A-vector row evaluating velocity component ``comp`` of ``tri`` at ``point``."""
        r = np.zeros(self.D)
        r[6 * tri + 3 * comp:6 * tri + 3 * comp + 3] = (point[0], point[1], 1.0)
        return r

    def _continuity_rows(self) -> List[np.ndarray]:
        """Equal velocities of edge-sharing triangles at both edge ends."""
        nx, ny = self.nc
        verts = self.vertices
        rows = []

        def agree(i: int, j: int, p, q) -> None:
            for point in (p, q):
                for comp in range(2):
                    rows.append(self._row(i, comp, point) - self._row(j, comp, point))

        for cy in range(ny):
            for cx in range(nx):
                for k in range(4):  # inside the cell: k and k+1 share an edge
                    i, j = self._tri(cx, cy, k), self._tri(cx, cy, (k + 1) % 4)
                    agree(i, j, verts[i, 0], verts[i, 2])
                if cx + 1 < nx:     # right of this cell, left of the next
                    i, j = self._tri(cx, cy, 1), self._tri(cx + 1, cy, 3)
                    agree(i, j, verts[i, 1], verts[i, 2])
                if cy + 1 < ny:     # top of this cell, bottom of the next
                    i, j = self._tri(cx, cy, 2), self._tri(cx, cy + 1, 0)
                    agree(i, j, verts[i, 1], verts[i, 2])
        return rows

    def _extra_rows(self) -> List[np.ndarray]:
        """Constraints beyond continuity inside the domain (see the flags)."""
        nx, ny = self.nc
        rows = []
        if not self.zero_boundary:
            # Adjacent boundary triangles share one boundary vertex; agreeing
            # at a second point of the extended cell line outside the domain
            # makes the field continuous across that line too.
            def agree(i: int, j: int, point) -> None:
                for comp in range(2):
                    rows.append(self._row(i, comp, point) - self._row(j, comp, point))

            for cy in range(ny - 1):
                y = (cy + 1) / ny
                for cx, k, x in ((0, 3, -1.0), (nx - 1, 1, 2.0)):
                    agree(self._tri(cx, cy, k), self._tri(cx, cy + 1, k), (x, y))
            for cx in range(nx - 1):
                x = (cx + 1) / nx
                for cy, k, y in ((0, 0, -1.0), (ny - 1, 2, 2.0)):
                    agree(self._tri(cx, cy, k), self._tri(cx + 1, cy, k), (x, y))
        else:
            for tri, tri_verts in enumerate(self.vertices):
                for point in tri_verts:
                    if point[0] in (0.0, 1.0):   # vertical boundary: v_x = 0
                        rows.append(self._row(tri, 0, point))
                    if point[1] in (0.0, 1.0):   # horizontal boundary: v_y = 0
                        rows.append(self._row(tri, 1, point))
        if self.volume_preservation:
            for tri in range(self.num_triangles):
                r = np.zeros(self.D)
                r[6 * tri + 0] = r[6 * tri + 4] = 1.0   # trace of the 2x2 part
                rows.append(r)
        return rows

    @cached_property
    def constraint_matrix(self) -> np.ndarray:
        """``[m, D]`` matrix ``L`` with ``L @ A = 0`` for every valid A-vector."""
        return np.stack(self._continuity_rows() + self._extra_rows())

    @cached_property
    def basis(self) -> np.ndarray:
        """``[D, d]`` orthonormal basis of the null space of
        :attr:`constraint_matrix` (float64).

        Computed without the full ``D x D`` decomposition: the vertex
        parametrisation already spans the continuous fields, so only the
        extra constraints are solved (on ``2 nV`` unknowns) before the result
        is orthonormalised.
        """
        V = self._vertex_parametrisation()
        extra = self._extra_rows()
        if extra:
            C = np.stack(extra) @ V
            _, s, vh = np.linalg.svd(C, full_matrices=True)
            rank = int((s > max(C.shape) * np.finfo(np.float64).eps * s[0]).sum())
            V = V @ vh[rank:].T
        q, _ = np.linalg.qr(V)   # V has full column rank (injective map)
        return np.ascontiguousarray(q)

    @cached_property
    def svd_basis(self) -> np.ndarray:
        """``[D, d]`` another orthonormal basis of the same null space, the
        one libcpab builds: the right singular vectors of a full SVD of
        :attr:`constraint_matrix` with zero singular values. It is dense, a
        generic rotation of :attr:`basis`; optimisers that are not invariant
        to rotations (Adam) behave in it as they do in libcpab's.
        """
        L = self.constraint_matrix
        _, s, vh = np.linalg.svd(L, full_matrices=True)
        rank = int((s > max(L.shape) * np.finfo(np.float64).eps * s[0]).sum())
        return np.ascontiguousarray(vh[rank:].T)

    @property
    def d(self) -> int:
        """Dimension of theta."""
        return self.basis.shape[1]
