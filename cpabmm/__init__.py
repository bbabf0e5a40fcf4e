"""cpabmm: image animation with affine, thin-plate spline and CPAB motion."""
from .version import __version__

__all__ = ['__version__']
