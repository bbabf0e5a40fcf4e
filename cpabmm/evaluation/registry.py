"""Registries of the evaluation networks: landmark detectors (for AKD/MKR)
and identity embedders (for AED).

They are separate from ``MODELS`` because these networks are judges, not
parts of an animation model. Register your own with
``@LANDMARK_DETECTORS.register_module()`` or
``@IDENTITY_EMBEDDERS.register_module()`` in a module that your config
imports (``custom_imports``).
"""
from typing import Any

from mmengine.registry import Registry

LANDMARK_DETECTORS = Registry(
    'landmark detector', scope='cpabmm', locations=['cpabmm.evaluation'])
IDENTITY_EMBEDDERS = Registry(
    'identity embedder', scope='cpabmm', locations=['cpabmm.evaluation'])


def build_component(config: Any, registry: Registry, base: type,
                    example: str) -> Any:
    """An instance of ``base``: ``config`` itself, or built from a config
    dict through ``registry``; anything else is a one-line error."""
    if isinstance(config, base):
        return config
    if not isinstance(config, dict) or 'type' not in config:
        raise ValueError(
            f'the {registry.name} must be a {base.__name__} or a dict with a '
            f'type, e.g. {example}; got {config!r}')
    built = registry.build(config)
    if not isinstance(built, base):
        raise ValueError(
            f"{registry.name} type {config['type']!r} built a "
            f'{type(built).__name__}, not a {base.__name__} subclass')
    return built
