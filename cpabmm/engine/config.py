"""Loading configs for the command-line tools, with clear errors.

:func:`load_config` is the one way the tools and :func:`cpabmm.apis.init_model`
read a config: every mistake it can see before anything is built is a
one-line :class:`ConfigError` (the tools exit with status 2):

- a config file (or one of its ``_base_`` files) with a syntax error: the file
  and line;
- a top-level key that nothing reads and that is a near miss of one that
  MMEngine's Runner or the tools read (``modle = dict(...)``): did you mean;
- an override (``--cfg-options``) whose key does not exist, or whose value
  does not have the type of the config's value (``batch_size=abc``);
- a ``type`` that no registry holds (``model.motion.type=TPSMotoin``): did you
  mean.

An override of ``model.motion.type`` rebuilds the motion entry for the new
motion model, or refuses a model that the config's keypoint detector and
dense motion network cannot serve (:mod:`cpabmm.engine.motion_swap`).
"""
from __future__ import annotations

import ast
import difflib
import inspect
import os.path as osp
import sys
from typing import Any, Iterator, List, Mapping, Optional, Set, Tuple

from mmengine.config import Config
from mmengine.registry import Registry


class ConfigError(ValueError):
    """A config file or override that cannot be used, explained in one line."""


def _suggest(key: str, choices, cutoff: float = 0.6) -> str:
    close = difflib.get_close_matches(key, [str(c) for c in choices], n=1, cutoff=cutoff)
    return f' (did you mean {close[0]!r}?)' if close else ''


# --------------------------------------------------------------------- registries
_FOUND_REGISTRIES: Tuple[int, List[Registry]] = (-1, [])


def _registries() -> List[Registry]:
    """Every registry a config's ``type`` may name, children before parents,
    each with its ``locations`` imported: cpabmm's (:mod:`cpabmm.registry`,
    :mod:`cpabmm.evaluation.registry`), MMEngine's and any other module's
    (e.g. of ``custom_imports``). Found again whenever modules were
    imported since the last call."""
    global _FOUND_REGISTRIES
    import cpabmm.evaluation.registry  # noqa: F401  (standalone registries)
    import cpabmm.registry  # noqa: F401
    if _FOUND_REGISTRIES[0] != len(sys.modules):
        found = {}
        for module in list(sys.modules.values()):
            try:
                values = list(vars(module).values())
            except TypeError:   # None placeholders and other odd entries
                continue
            for value in values:
                if issubclass(type(value), Registry):  # type(): no attribute look-up
                    found[id(value)] = value
        registries = sorted(found.values(), key=lambda reg: reg.parent is None)
        for reg in registries:
            reg.import_from_location()
        _FOUND_REGISTRIES = (len(sys.modules), registries)
    return _FOUND_REGISTRIES[1]


def registered_object(type_name: Any) -> Optional[Any]:
    """The class (or function) a config's ``type`` names, from the first
    registry that holds it; None when none does (or ``type_name`` is no
    string)."""
    if not isinstance(type_name, str):
        return None
    registries = _registries()
    for reg in registries:
        if type_name in reg.module_dict:
            return reg.module_dict[type_name]
    if '.' in type_name:   # a scoped name ('cpabmm.seed_worker') or an import path
        for reg in registries:
            try:
                obj = reg.get(type_name)
            except Exception:  # MMEngine raises when the name is no import path either
                obj = None
            if obj is not None:
                return obj
    return None


def _registered_names() -> Set[str]:
    return {name for reg in _registries() for name in reg.module_dict}


def _constructor_parameters(type_name: Any) -> Optional[set]:
    """Keyword parameters of the registered class ``type_name``, or None when
    it is unknown or accepts ``**kwargs``."""
    obj = registered_object(type_name)
    if obj is None:
        return None
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params}


def constructor_default(type_name: Any, name: str, fallback: Any = None) -> Any:
    """The default of the constructor parameter ``name`` of the registered
    class ``type_name`` (``fallback`` when it has none)."""
    obj = registered_object(type_name)
    try:
        param = inspect.signature(obj).parameters.get(name) if obj is not None else None
    except (TypeError, ValueError):
        param = None
    if param is None or param.default is inspect.Parameter.empty:
        return fallback
    return param.default


def check_type_name(type_name: Any, where: str) -> None:
    """Raise :class:`ConfigError` unless the ``type`` at ``where`` (a dotted
    config path) is registered, with the closest registered name."""
    if isinstance(type_name, str) and registered_object(type_name) is None:
        raise ConfigError(
            f'unknown type {type_name!r} at {where}'
            f'{_suggest(type_name, _registered_names())}: no registry of cpabmm '
            'or MMEngine has it')


def _typed_entries(node: Any, path: str = '') -> Iterator[Tuple[str, Any]]:
    """``(dotted path of the type entry, type)`` of every dict with a
    ``type`` in a (nested) config."""
    if isinstance(node, Mapping):
        if 'type' in node:
            yield (f'{path}.type' if path else 'type'), node['type']
        for key, value in node.items():
            yield from _typed_entries(value, f'{path}.{key}' if path else str(key))
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _typed_entries(value, f'{path}.{index}')


def check_types(cfg: Config) -> None:
    """Raise :class:`ConfigError` for the first ``type`` of ``cfg`` that no
    registry holds (before anything is built)."""
    for where, type_name in _typed_entries(cfg._cfg_dict):
        check_type_name(type_name, where)


# --------------------------------------------------------------------- top-level keys
#: top-level keys read besides the arguments of MMEngine's Runner: by the
#: Runner (wrapping and compiling the model), by MMEngine's Config, and by
#: the tools (``runner_type``: :func:`cpabmm.engine.build_runner`;
#: ``animation_*``: ``tools/test.py --protocol animation``)
EXTRA_TOP_LEVEL_KEYS = (
    'model_wrapper_cfg', 'find_unused_parameters', 'sync_bn', 'compile',
    'activation_checkpointing', 'efficient_conv_bn_eval', 'custom_imports', 'runner_type',
    'animation_dataset', 'animation_evaluator')
#: how close (difflib ratio) an unread key must be to a read one to be taken
#: for a misspelling of it: 'modle' is (0.8) but helpers such as 'data_root'
#: are not (0.62 to 'data_preprocessor')
TOP_LEVEL_CUTOFF = 0.8


def top_level_keys() -> Tuple[str, ...]:
    """The top-level config keys that something reads: the arguments of
    MMEngine's ``Runner`` (what ``Runner.from_cfg`` passes on) and
    :data:`EXTRA_TOP_LEVEL_KEYS`."""
    from mmengine.runner import Runner
    runner = [name for name in inspect.signature(Runner.__init__).parameters if name != 'self']
    return tuple(runner) + EXTRA_TOP_LEVEL_KEYS


def check_top_level_keys(cfg: Config) -> None:
    """Raise :class:`ConfigError` for a top-level key that nothing reads and
    that is a near miss of one that is read (``modle``: did you mean
    'model'?). Other unread keys are the config's helpers (``data_root``,
    ``train_pipeline``, ...) and stay."""
    known = top_level_keys()
    for key in cfg.keys():
        if key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=TOP_LEVEL_CUTOFF)
        if close:
            where = f'{cfg.filename}: ' if cfg.filename else ''
            raise ConfigError(
                f'{where}unknown top-level key {key!r} (did you mean {close[0]!r}?); '
                'nothing reads it, so its settings would be ignored')


# --------------------------------------------------------------------- overrides
_NUMBER_TYPES = (bool, int, float)


def _check_value(full_key: str, current: Any, value: Any) -> None:
    """Raise :class:`ConfigError` when ``value`` replaces a number or a
    boolean with a string (``batch_size=abc``)."""
    if isinstance(current, _NUMBER_TYPES) and isinstance(value, str):
        expected = ('a boolean (True or False)' if isinstance(current, bool)
                    else 'an int' if isinstance(current, int) else 'a number')
        raise ConfigError(
            f'bad value for {full_key}: {value!r} is not {expected} '
            f'(the config has {current!r})')


def check_override_keys(cfg: Config, options: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` for an override that cannot apply.

    Every dotted prefix of an override must name an existing dict (or list
    index); the last key may be new only inside a dict that configures a
    registered object (one with ``type``), and then only if it names a
    parameter of that object's constructor. Where the same overrides change
    that ``type``, the keys set beside it must be parameters of the new
    type. A new ``type`` must be registered, and a value that replaces a
    number or a boolean must not be a string.
    """
    for full_key, value in options.items():
        if full_key == 'type' or full_key.endswith('.type'):
            check_type_name(value, full_key)
    retyped = {key[:-len('.type')]: value for key, value in options.items()
               if key.endswith('.type')}
    known_top = top_level_keys()
    for full_key, value in options.items():
        node: Any = cfg._cfg_dict
        parts = full_key.split('.')
        for depth, part in enumerate(parts):
            is_leaf = depth == len(parts) - 1
            where = '.'.join(parts[:depth]) or 'the config'
            if isinstance(node, (list, tuple)):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(
                        f'unknown config key {full_key!r}: {where} is a list '
                        f'of {len(node)} items, index with 0..{len(node) - 1}')
                node = node[int(part)]
                if is_leaf:
                    _check_value(full_key, node, value)
                continue
            if not isinstance(node, Mapping):
                raise ConfigError(
                    f'unknown config key {full_key!r}: {where} is not a dict')
            new_type = retyped.get(where) if is_leaf and part != 'type' else None
            if new_type is not None:
                accepted = _constructor_parameters(new_type)
                if accepted is not None and part not in accepted:
                    raise ConfigError(
                        f'unknown config key {full_key!r}: {new_type} takes no '
                        f'argument {part!r}{_suggest(part, accepted)}')
            if part in node:
                node = node[part]
                if is_leaf:
                    _check_value(full_key, node, value)
                continue
            if new_type is not None:
                break
            if depth == 0 and part in known_top:
                break   # a key the Runner reads, absent from this config
            if is_leaf and 'type' in node:
                accepted = _constructor_parameters(node['type'])
                if accepted is None or part in accepted:
                    break
                raise ConfigError(
                    f'unknown config key {full_key!r}: {node["type"]} takes no '
                    f'argument {part!r}{_suggest(part, accepted)}')
            raise ConfigError(
                f'unknown config key {full_key!r}: no {part!r} in {where}'
                f'{_suggest(part, node.keys())}; check the spelling against '
                'the config file')


def apply_overrides(cfg: Config, cfg_options: Optional[Mapping[str, Any]]) -> None:
    """Merge ``--cfg-options`` overrides into ``cfg`` after
    :func:`check_override_keys`, rebuilding the motion entry when its type
    changes (:func:`cpabmm.engine.motion_swap.swap_motion`), then check the
    result (:func:`check_top_level_keys`, :func:`check_types`)."""
    from .motion_swap import swap_motion   # it uses this module's helpers
    if cfg_options:
        check_override_keys(cfg, cfg_options)
        swap_motion(cfg, cfg_options)
        cfg.merge_from_dict(dict(cfg_options))
    check_top_level_keys(cfg)
    check_types(cfg)


def _base_files(path: str, tree: ast.Module) -> List[str]:
    """The ``_base_`` files a parsed config names (string or list of
    strings), as paths."""
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == '_base_'):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                return []
            names = [value] if isinstance(value, str) else list(value)
            return [osp.normpath(osp.join(osp.dirname(path), name)) for name in names
                    if isinstance(name, str)]
    return []


def find_syntax_error(path: str) -> Optional[SyntaxError]:
    """The first syntax error in ``path`` or its ``_base_`` files (depth
    first), with its file name; None when they all parse."""
    try:
        with open(path, encoding='utf-8') as file:
            text = file.read()
    except OSError:
        return None
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as error:
        return error
    for base in _base_files(path, tree):
        found = find_syntax_error(base)
        if found is not None:
            return found
    return None


def _read(path: str) -> Config:
    """``Config.fromfile``, with a syntax error reported as one line naming
    the file and the line."""
    try:
        return Config.fromfile(path)
    except SyntaxError as error:
        found = find_syntax_error(path) or error
        filename = found.filename if found.filename not in (None, '<unknown>') else path
        line = f', line {found.lineno}' if found.lineno else ''
        raise ConfigError(f'syntax error in config file {filename}{line}: '
                          f'{found.msg or found}') from None


def load_config(path: str, cfg_options: Optional[Mapping[str, Any]] = None) -> Config:
    """Read a config file and apply ``--cfg-options`` overrides safely
    (:func:`apply_overrides`)."""
    if not osp.isfile(path):
        raise ConfigError(f'config file not found: {path} (configs live under configs/)')
    cfg = _read(path)
    apply_overrides(cfg, cfg_options)
    return cfg


def load_tool_config(args: Any) -> Config:
    """The config of a training or testing tool's command line: ``args.config``
    with ``args.cfg_options`` applied (:func:`load_config`), its launcher, and
    its work folder (``--work-dir``, else the config's, else
    ``./work_dirs/<config name>``)."""
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg
