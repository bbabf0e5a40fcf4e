"""Pictures of CPAB transformations (matplotlib, imported lazily)."""
from typing import TYPE_CHECKING, Optional

import torch
from torch import Tensor

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from .cpab import CPAB


def _single_theta(cpab: 'CPAB', theta: Tensor) -> Tensor:
    theta = torch.as_tensor(theta)
    if theta.dim() == 1:
        theta = theta[None]
    if theta.dim() != 2 or theta.shape[0] != 1:
        raise ValueError(f'plot one theta, [d] or [1, d]; got {list(theta.shape)}')
    return theta.detach().to(device=cpab.basis.device, dtype=torch.float64)


def _axes(ax: Optional['Axes']) -> 'Axes':
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=(5, 5))
    return ax


def plot_tessellation(cpab: 'CPAB', ax: Optional['Axes'] = None, **line_kw) -> 'Axes':
    """Cell lines and triangle diagonals of the tessellation."""
    ax = _axes(ax)
    style = dict(color='0.7', linewidth=0.6, zorder=0)
    style.update(line_kw)
    nx, ny = cpab.nc
    for i in range(nx + 1):
        ax.plot([i / nx, i / nx], [0, 1], **style)
    for j in range(ny + 1):
        ax.plot([0, 1], [j / ny, j / ny], **style)
    for i in range(nx):
        for j in range(ny):
            x0, x1, y0, y1 = i / nx, (i + 1) / nx, j / ny, (j + 1) / ny
            ax.plot([x0, x1], [y0, y1], **style)
            ax.plot([x0, x1], [y1, y0], **style)
    return ax


def _finish(ax: 'Axes', title: str) -> None:
    ax.set_aspect('equal')
    ax.set_xlabel('x')
    ax.set_ylabel('y')
    ax.set_title(title)


def plot_velocity_field(cpab: 'CPAB', theta: Tensor, ax: Optional['Axes'] = None,
                        n_points: int = 17, show_tessellation: bool = True,
                        **quiver_kw) -> 'Axes':
    """Arrows of the velocity field of one theta on an ``n x n`` grid,
    coloured by speed, over the tessellation."""
    theta = _single_theta(cpab, theta)
    ax = _axes(ax)
    if show_tessellation:
        plot_tessellation(cpab, ax)
    grid = cpab.uniform_grid((n_points, n_points), dtype=torch.float64,
                             device=theta.device)
    v = cpab.velocity(theta, grid)[0].cpu()
    grid = grid.cpu()
    style = dict(cmap='viridis', angles='xy', pivot='mid')
    style.update(quiver_kw)
    ax.quiver(grid[:, 0], grid[:, 1], v[:, 0], v[:, 1], v.norm(dim=1), **style)
    _finish(ax, f'CPAB velocity field ({cpab.nc[0]}x{cpab.nc[1]}, d={cpab.dim})')
    return ax


def plot_deformed_grid(cpab: 'CPAB', theta: Tensor, ax: Optional['Axes'] = None,
                       n_lines: int = 17, resolution: int = 129,
                       show_tessellation: bool = False, **line_kw) -> 'Axes':
    """Images under the transformation of the lines of a uniform grid."""
    theta = _single_theta(cpab, theta)
    ax = _axes(ax)
    if show_tessellation:
        plot_tessellation(cpab, ax)
    along = torch.linspace(0, 1, resolution, dtype=torch.float64)
    across = torch.linspace(0, 1, n_lines, dtype=torch.float64)
    a, b = torch.meshgrid(across, along, indexing='ij')        # [n_lines, resolution]
    vertical = torch.stack([a, b], -1).view(-1, 2)             # lines x = const
    horizontal = torch.stack([b, a], -1).view(-1, 2)           # lines y = const
    points = torch.cat([vertical, horizontal]).to(theta.device)
    out = cpab.transform(theta, points)[0].cpu().view(2, n_lines, resolution, 2)
    style = dict(color='tab:blue', linewidth=0.8)
    style.update(line_kw)
    for family in out:
        for line in family:
            ax.plot(line[:, 0], line[:, 1], **style)
    _finish(ax, f'CPAB deformed grid ({cpab.nc[0]}x{cpab.nc[1]}, d={cpab.dim})')
    return ax
