"""The registries are MMEngine children in the cpabmm scope."""
import mmengine.registry as mmengine_registry

from cpabmm import registry


def test_every_registry_is_a_scoped_child_with_locations():
    names = [
        n for n in dir(registry)
        if isinstance(getattr(registry, n), mmengine_registry.Registry)
        and not n.startswith('MMENGINE_')
    ]
    assert {'MODELS', 'DATASETS', 'TRANSFORMS', 'METRICS', 'HOOKS', 'VISUALIZERS', 'LOOPS'} <= set(names)
    for name in names:
        child = getattr(registry, name)
        assert child.scope == registry.DEFAULT_SCOPE, name
        assert child.parent is getattr(mmengine_registry, name), name
        assert child._locations, name


def test_parent_types_resolve_through_children():
    assert registry.LOOPS.get('IterBasedTrainLoop') is not None
    assert registry.HOOKS.get('SafeCheckpointHook').__module__.startswith('cpabmm.engine')
