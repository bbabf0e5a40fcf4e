"""CPAB transformations: continuous piecewise-affine velocity fields on a
triangulated [0, 1]^2 and their exact flows (usable on their own)."""
from .checks import CPABOverflowWarning, set_finite_checks
from .cpab import CPAB
from .prior import covariance_cpa
from .tessellation import Tessellation

__all__ = ['CPAB', 'CPABOverflowWarning', 'Tessellation', 'covariance_cpa', 'set_finite_checks']
