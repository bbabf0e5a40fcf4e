"""Utilities of cpabmm that belong to no single component."""
