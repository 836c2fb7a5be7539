"""The plugin manager, built lazily once per process, and typed access to its hooks.

Plugins are registered in this order: the built-ins (memory and file backends), the entry-point
group ``nuvom``, then ``.nuvom_plugins.toml`` in the working directory. Core code calls hooks only
through the functions here and in :mod:`.events`, never through ``manager.hook`` directly.

Every call goes through pluggy, one plugin at a time (a subset hook caller per plugin): that is
what lets one plugin's failure be logged and the next plugin still be called, and what tells
which plugin offered which backend. Wrapper hook implementations are therefore refused at
registration (:func:`_refuse_wrappers`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pluggy

from ..errors import PluginError, PluginValidationError
from ..version import __version__
from . import builtin, hookspecs
from .hookspecs import PROJECT_NAME, BackendFactory
from .loading import Discovered, from_entry_points, from_toml, toml_path

if TYPE_CHECKING:
    from ..config import PluginSettings

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
#: Per hook, one caller per implementing plugin (see :func:`plugin_callers`).
_hook_cache: dict[str, list[tuple[str, pluggy.HookCaller]]] = {}
_listener_cache: dict[str, list[Listener]] = {}


@dataclass(frozen=True)
class Listener:
    """One plugin's implementation of a notification hook, called with its own arguments."""

    plugin: str
    function: Callable[..., object]
    argnames: tuple[str, ...]


def _register(manager: pluggy.PluginManager, found: Discovered) -> None:
    if manager.get_plugin(found.name) is not None or found.name in _sources:
        previous = _sources.get(found.name)
        where = previous.source if previous else "an earlier registration"
        raise PluginError(f"two plugins are named {found.name!r}: from {where} and from {found.source}")
    try:
        hash(found.plugin)
    except TypeError:
        raise PluginValidationError(found.name, "a plugin object must be hashable") from None
    try:
        manager.register(found.plugin, name=found.name)
    except pluggy.PluginValidationError as exc:
        raise PluginValidationError(found.name, str(exc)) from None
    _refuse_wrappers(manager, found)
    _sources[found.name] = found


def _refuse_wrappers(manager: pluggy.PluginManager, found: Discovered) -> None:
    """Unregister and refuse a plugin with a wrapper implementation: it would wrap nothing here."""
    for caller in manager.get_hookcallers(found.plugin) or []:
        for impl in caller.get_hookimpls():
            if impl.plugin is found.plugin and (impl.wrapper or impl.hookwrapper):
                manager.unregister(found.plugin)
                raise PluginValidationError(
                    found.name,
                    f"its {caller.name} is a wrapper (wrapper=True or hookwrapper=True); Nuvom calls "
                    "each plugin's implementation on its own, so a wrapper has nothing to wrap: "
                    "use a plain @hookimpl",
                )


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
        _listener_cache.clear()


def plugin_callers(hook: str) -> list[tuple[str, pluggy.HookCaller]]:
    """``(plugin name, caller)`` for each plugin implementing ``hook``, in pluggy's call order.

    Each caller is a pluggy subset hook caller that calls that one plugin's implementation.
    """
    cached = _hook_cache.get(hook)
    if cached is not None:
        return cached
    with _lock:
        cached = _hook_cache.get(hook)
        if cached is None:
            manager = get_plugin_manager()
            impls = list(reversed(getattr(manager.hook, hook).get_hookimpls()))
            cached = [
                (
                    impl.plugin_name,
                    manager.subset_hook_caller(hook, [i.plugin for i in impls if i is not impl]),
                )
                for impl in impls
            ]
            _hook_cache[hook] = cached
        return cached


def listeners(hook: str) -> list[Listener]:
    """The implementations of the notification ``hook``, in pluggy's call order (``tryfirst``...).

    A notification is called once per job event, so each implementation is called directly
    rather than through a subset hook caller per plugin, whose setup costs ~8 µs a call: the same
    call pluggy's loop makes, since wrapper implementations are refused at registration.
    """
    cached = _listener_cache.get(hook)
    if cached is not None:
        return cached
    with _lock:
        cached = _listener_cache.get(hook)
        if cached is None:
            impls = reversed(getattr(get_plugin_manager().hook, hook).get_hookimpls())
            cached = [Listener(i.plugin_name, i.function, tuple(i.argnames)) for i in impls]
            _listener_cache[hook] = cached
        return cached


def _per_plugin(hook: str) -> list[tuple[str, Any]]:
    """What each plugin's implementation of ``hook`` returns, by plugin name (``None`` is skipped)."""
    answers = []
    for plugin, caller in plugin_callers(hook):
        for answer in caller():
            answers.append((plugin, answer))
    return answers


def _offers(kind: BackendKind) -> dict[str, tuple[BackendFactory, str]]:
    offered: dict[str, tuple[BackendFactory, str]] = {}
    for plugin, factories in reversed(_per_plugin(f"nuvom_{kind}_backends")):  # registration order
        for name, factory in factories.items():
            if name in offered:
                first = offered[name][1]
                raise PluginError(f"{kind} backend {name!r} is offered by both {first!r} and {plugin!r}")
            offered[name] = (factory, plugin)
    return offered


def backend_factories(kind: BackendKind) -> dict[str, BackendFactory]:
    """Every backend of ``kind`` offered by a registered plugin, by name.

    Raises:
        PluginError: when two plugins offer the same name.
    """
    return {name: factory for name, (factory, _) in _offers(kind).items()}


def plugin_backends(kind: BackendKind, plugin: str) -> dict[str, BackendFactory]:
    """The ``kind`` backends the registered plugin named ``plugin`` offers, by name."""
    offered: dict[str, BackendFactory] = {}
    for by, factories in _per_plugin(f"nuvom_{kind}_backends"):
        if by == plugin:
            offered.update(factories)
    return offered


def backend_origin(kind: BackendKind, name: str) -> str:
    """Which plugin offers the ``kind`` backend ``name``, and where that plugin came from."""
    offer = _offers(kind).get(name)
    if offer is None:
        return "no registered plugin"
    found = _sources.get(offer[1])
    return f"plugin {offer[1]!r}, {found.source}" if found is not None else f"plugin {offer[1]!r}"


def plugin_settings() -> list[tuple[str, type[PluginSettings]]]:
    """Each registered plugin's settings class (hook ``nuvom_plugin_settings``), in registration order.

    Raises:
        PluginValidationError: a plugin answers with something other than a ``PluginSettings`` subclass.
    """
    from ..config import PluginSettings

    answers = list(reversed(_per_plugin(hookspecs.nuvom_plugin_settings.__name__)))
    for plugin, answer in answers:
        if not (isinstance(answer, type) and issubclass(answer, PluginSettings)):
            raise PluginValidationError(
                plugin,
                f"nuvom_plugin_settings returned {answer!r}, not a nuvom.config.PluginSettings subclass",
            )
    return answers


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
                backends[kind] = sorted(plugin_backends(kind, name))  # type: ignore[arg-type]
            else:
                hooks.append(hook)
        infos.append(PluginInfo(name, found.source, found.version, backends, sorted(hooks)))
    return infos
