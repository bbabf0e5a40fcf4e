"""Utilities of cpabmm that belong to no single component."""
from .runtime import setup_runtime

__all__ = ['setup_runtime']
