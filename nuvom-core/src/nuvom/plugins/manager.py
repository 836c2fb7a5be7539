"""The plugin manager, built lazily once per process, and typed access to its hooks.

Plugins are registered in this order: the built-ins (memory and file backends), the entry-point
group ``nuvom``, then ``.nuvom_plugins.toml`` in the working directory. Core code calls hooks only
through the functions here, never through ``manager.hook`` directly.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Literal

import pluggy

from ..errors import PluginError, PluginValidationError
from ..version import __version__
from . import builtin, hookspecs
from .hookspecs import PROJECT_NAME, BackendFactory
from .loading import Discovered, from_entry_points, from_toml, toml_path

logger = logging.getLogger(__name__)

BackendKind = Literal["queue", "result", "scheduler"]


@dataclass(frozen=True)
class PluginInfo:
    """A registered plugin, for ``nuvom plugin list``."""

    name: str
    source: str
    version: str
    #: Backend names by kind, and the notification hooks it implements.
    backends: dict[str, list[str]]
    hooks: list[str]


_lock = threading.RLock()
_manager: pluggy.PluginManager | None = None
_sources: dict[str, Discovered] = {}


def _register(manager: pluggy.PluginManager, found: Discovered) -> None:
    if manager.get_plugin(found.name) is not None or found.name in _sources:
        previous = _sources.get(found.name)
        where = previous.source if previous else "an earlier registration"
        raise PluginError(f"two plugins are named {found.name!r}: from {where} and from {found.source}")
    try:
        manager.register(found.plugin, name=found.name)
    except pluggy.PluginValidationError as exc:
        raise PluginValidationError(found.name, str(exc)) from None
    _sources[found.name] = found


def _build() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    _sources.clear()
    _register(manager, Discovered("nuvom.builtin", builtin, "built-in", __version__))
    for found in from_entry_points():
        _register(manager, found)
    path = toml_path()
    if path is not None:
        for found in from_toml(path):
            _register(manager, found)
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginValidationError(getattr(exc.plugin, "__name__", str(exc.plugin)), str(exc)) from None
    return manager


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with every discovered plugin registered.

    Raises:
        PluginLoadError: a plugin cannot be imported or the toml file is malformed.
        PluginValidationError: a plugin's hook implementations do not match the specs.
    """
    global _manager
    with _lock:
        if _manager is None:
            _manager = _build()
        return _manager


def reset_plugin_manager() -> None:
    """Forget the plugin manager; the next use discovers plugins again."""
    global _manager
    with _lock:
        _manager = None
        _sources.clear()
        _hook_cache.clear()


def _offers(kind: BackendKind) -> dict[str, tuple[BackendFactory, str]]:
    manager = get_plugin_manager()
    caller = getattr(manager.hook, f"nuvom_{kind}_backends")
    offered: dict[str, tuple[BackendFactory, str]] = {}
    for impl in reversed(caller.get_hookimpls()):  # registration order
        for name, factory in (impl.function() or {}).items():
            if name in offered:
                first = offered[name][1]
                raise PluginError(
                    f"{kind} backend {name!r} is offered by both {first!r} and {impl.plugin_name!r}"
                )
            offered[name] = (factory, impl.plugin_name)
    return offered


def backend_factories(kind: BackendKind) -> dict[str, BackendFactory]:
    """Every backend of ``kind`` offered by a registered plugin, by name.

    Raises:
        PluginError: when two plugins offer the same name.
    """
    return {name: factory for name, (factory, _) in _offers(kind).items()}


def backend_origin(kind: BackendKind, name: str) -> str:
    """Which plugin offers the ``kind`` backend ``name``, and where that plugin came from."""
    offer = _offers(kind).get(name)
    if offer is None:
        return "no registered plugin"
    found = _sources.get(offer[1])
    return f"plugin {offer[1]!r}, {found.source}" if found is not None else f"plugin {offer[1]!r}"


_hook_cache: dict[str, list[pluggy.HookImpl]] = {}


def _impls(hook: str) -> list[pluggy.HookImpl]:
    cached = _hook_cache.get(hook)
    if cached is None:
        cached = list(reversed(getattr(get_plugin_manager().hook, hook).get_hookimpls()))
        _hook_cache[hook] = cached
    return cached


def notify(hook: str, **kwargs: Any) -> None:
    """Call a notification hook on every plugin; one that raises is logged with its name, never raised."""
    for impl in _impls(hook):
        try:
            impl.function(*[kwargs[name] for name in impl.argnames])
        except Exception:
            logger.exception("plugin %r raised in %s; carrying on", impl.plugin_name, hook)


def has_listeners(hook: str) -> bool:
    """True when some plugin implements ``hook``: callers skip building arguments otherwise."""
    return bool(_impls(hook))


def register_commands(app: Any) -> None:
    """Let plugins add commands to the command line."""
    get_plugin_manager().hook.nuvom_register_commands(app=app)


def plugin_infos() -> list[PluginInfo]:
    """Every registered plugin, in registration order, with where it came from and what it provides."""
    manager = get_plugin_manager()
    infos = []
    for name, found in _sources.items():
        plugin = manager.get_plugin(name)
        backends: dict[str, list[str]] = {}
        hooks = []
        for impl_caller in manager.get_hookcallers(plugin) or []:
            hook = impl_caller.name
            if hook.endswith("_backends"):
                kind = hook.removeprefix("nuvom_").removesuffix("_backends")
                impl = next(i for i in impl_caller.get_hookimpls() if i.plugin is plugin)
                offered: dict[str, BackendFactory] = impl.function() or {}  # type: ignore[assignment]
                backends[kind] = sorted(offered)
            else:
                hooks.append(hook)
        infos.append(PluginInfo(name, found.source, found.version, backends, sorted(hooks)))
    return infos
