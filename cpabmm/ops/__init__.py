"""Custom operators of cpabmm."""
from .cpab import CPAB

__all__ = ['CPAB']
