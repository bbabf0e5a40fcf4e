"""Loading configs for the command-line tools, with clear errors."""
from __future__ import annotations

import difflib
import inspect
import os.path as osp
from typing import Any, Mapping, Optional

from mmengine.config import Config


class ConfigError(ValueError):
    """A config file or override that cannot be used, explained in one line."""


def _suggest(key: str, choices) -> str:
    close = difflib.get_close_matches(key, [str(c) for c in choices], n=1)
    return f' (did you mean {close[0]!r}?)' if close else ''


def _constructor_parameters(type_name: Any) -> Optional[set]:
    """Keyword parameters of the registered class ``type_name``, or None when
    it is unknown or accepts ``**kwargs``."""
    from cpabmm import registry
    if not isinstance(type_name, str):
        return None
    for name in dir(registry):
        candidate = getattr(registry, name)
        if not isinstance(candidate, registry.Registry):
            continue
        try:
            obj = candidate.get(type_name)
        except Exception:  # a location failed to import: not this registry
            obj = None
        if obj is None:
            continue
        try:
            params = inspect.signature(obj).parameters.values()
        except (TypeError, ValueError):
            return None
        if any(p.kind is p.VAR_KEYWORD for p in params):
            return None
        return {p.name for p in params}
    return None


def check_override_keys(cfg: Config, options: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` for an override whose path does not exist.

    Every dotted prefix of an override must name an existing dict (or list
    index); the last key may be new only inside a dict that configures a
    registered object (one with ``type``), and then only if it names a
    parameter of that object's constructor.
    """
    for full_key in options:
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
                continue
            if not isinstance(node, Mapping):
                raise ConfigError(
                    f'unknown config key {full_key!r}: {where} is not a dict')
            if part in node:
                node = node[part]
                continue
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
    :func:`check_override_keys`."""
    if cfg_options:
        check_override_keys(cfg, cfg_options)
        cfg.merge_from_dict(dict(cfg_options))


def load_config(path: str, cfg_options: Optional[Mapping[str, Any]] = None) -> Config:
    """Read a config file and apply ``--cfg-options`` overrides safely."""
    if not osp.isfile(path):
        raise ConfigError(f'config file not found: {path} (configs live under configs/)')
    cfg = Config.fromfile(path)
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
