"""Registries of the evaluation networks: landmark detectors (for AKD/MKR)
and identity embedders (for AED).

They are separate from ``MODELS`` because these networks are judges, not
parts of an animation model. Register your own with
``@LANDMARK_DETECTORS.register_module()`` or
``@IDENTITY_EMBEDDERS.register_module()`` in a module that your config
imports (``custom_imports``).
"""
from mmengine.registry import Registry

LANDMARK_DETECTORS = Registry(
    'landmark detector', scope='cpabmm', locations=['cpabmm.evaluation'])
IDENTITY_EMBEDDERS = Registry(
    'identity embedder', scope='cpabmm', locations=['cpabmm.evaluation'])
