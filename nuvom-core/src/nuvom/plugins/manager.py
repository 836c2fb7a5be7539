"""The plugin manager, built lazily once per process, and typed access to its hooks."""

from __future__ import annotations

import threading
from typing import Literal

import pluggy

from ..errors import PluginError
from . import builtin, hookspecs
from .hookspecs import PROJECT_NAME, BackendFactory

BackendKind = Literal["queue", "result", "scheduler"]

_lock = threading.Lock()
_manager: pluggy.PluginManager | None = None


def _build() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(builtin, name="nuvom.builtin")
    return manager


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with the built-in plugins registered."""
    global _manager
    with _lock:
        if _manager is None:
            _manager = _build()
        return _manager


def reset_plugin_manager() -> None:
    """Forget the plugin manager; the next use builds it again."""
    global _manager
    with _lock:
        _manager = None


def backend_factories(kind: BackendKind) -> dict[str, BackendFactory]:
    """Every backend of ``kind`` offered by a registered plugin, by name.

    Raises:
        PluginError: when two plugins offer the same name.
    """
    manager = get_plugin_manager()
    caller = getattr(manager.hook, f"nuvom_{kind}_backends")
    offered: dict[str, BackendFactory] = {}
    owners: dict[str, str] = {}
    for impl in reversed(caller.get_hookimpls()):  # registration order
        for name, factory in (impl.function() or {}).items():
            if name in offered:
                raise PluginError(
                    f"{kind} backend {name!r} is offered by both {owners[name]!r} and {impl.plugin_name!r}"
                )
            offered[name] = factory
            owners[name] = impl.plugin_name
    return offered
