"""Finding installed models: every plugin is an entry point in the group ``modular.plugins``.

The built-in plugins register themselves exactly as a third-party package would, in its
``pyproject.toml``::

    [project.entry-points."modular.plugins"]
    myplugin = "my_package:plugin"      # a modular.module.Plugin
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

from .module import Module, Plugin

GROUP = "modular.plugins"

_registry: dict[str, type[Module]] | None = None
_extra: list[Plugin] = []


def register(plugin: Plugin) -> None:
    """Add a plugin at run time (tests, benchmarks, embedding applications)."""
    _extra.append(plugin)
    if _registry is not None:
        _add(_registry, plugin)


def _add(registry: dict[str, type[Module]], plugin: Plugin) -> None:
    for m in plugin.models:
        registry[m.full_model()] = m


def models() -> dict[str, type[Module]]:
    """All installed models by full name ("core.VCO"), loading plugins once."""
    global _registry
    if _registry is None:
        reg: dict[str, type[Module]] = {}
        for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
            try:
                plugin = ep.load()
            except Exception as e:  # a broken third-party plugin must not stop the rest
                print(f"modular: plugin {ep.name!r} failed to load: {e}", file=sys.stderr)
                continue
            if not isinstance(plugin, Plugin):
                print(f"modular: plugin {ep.name!r} is not a modular.module.Plugin", file=sys.stderr)
                continue
            if plugin.slug != ep.name:
                print(f"modular: plugin entry point {ep.name!r} exports slug {plugin.slug!r}", file=sys.stderr)
            _add(reg, plugin)
        for p in _extra:
            _add(reg, p)
        _registry = reg
    return _registry


def get(name: str) -> type[Module]:
    return models()[name]
