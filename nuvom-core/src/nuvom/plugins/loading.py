"""Finding plugins: the entry-point group ``nuvom`` and ``.nuvom_plugins.toml``.

```toml
[plugins]
modules = ["acme.nuvom_mongo", "acme.metrics:plugin"]   # hookimpl holders
queue_backend = ["acme.queues:MongoQueue"]                # a backend class, named by its `name`
result_backend = ["acme.results:MongoResults"]
scheduler_backend = ["acme.schedules:MongoSchedules"]
```
A class named in ``*_backend`` is built with ``Class.from_settings(settings)`` when it has that
classmethod, else with ``Class()``. Targets import relative to the file's folder, which goes first
on ``sys.path`` (and stays there, so a plugin's own lazy imports work later), whether Nuvom runs as
the ``nuvom`` console script or as ``python -m nuvom``.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import PluginLoadError
from .hookspecs import BackendFactory, hookimpl

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

TOML_FILE = ".nuvom_plugins.toml"
_BACKEND_KEYS = {"queue_backend": "queue", "result_backend": "result", "scheduler_backend": "scheduler"}
_KEYS = {"modules", *_BACKEND_KEYS}


@dataclass(frozen=True)
class Discovered:
    """A plugin object and where it came from."""

    name: str
    plugin: object
    #: "entry point" or the toml file's path.
    source: str
    version: str = ""


def from_entry_points() -> Iterator[Discovered]:
    """Plugins of installed distributions, from the entry-point group ``nuvom``.

    Raises:
        PluginLoadError: naming the entry point, its distribution and the import error.
    """
    from importlib.metadata import entry_points  # ~10 ms: paid when plugins load, not on import

    for point in entry_points(group="nuvom"):
        dist = point.dist
        label = f"{dist.name} {dist.version}" if dist is not None else "unknown distribution"
        try:
            plugin = point.load()
        except Exception as exc:
            raise PluginLoadError(
                f"entry point {point.name!r} = {point.value!r} of {label} cannot be loaded: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        yield Discovered(point.name, plugin, f"entry point ({label})", dist.version if dist else "")


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return 1


def import_target(target: str) -> Any:
    """Import ``module`` or ``module:attribute``.

    Raises:
        ImportError, AttributeError: from the import.
    """
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def backend_class_factory(cls: Any) -> BackendFactory:
    """A factory for a backend class: ``from_settings(settings)`` if it has one, else ``cls()``."""
    from_settings = getattr(cls, "from_settings", None)
    if callable(from_settings):
        return from_settings  # type: ignore[no-any-return]
    return lambda settings: cls()


class _ClassShorthand:
    """A plugin made from backend classes named in ``.nuvom_plugins.toml``."""

    def __init__(self, backends: dict[str, dict[str, BackendFactory]]) -> None:
        self._backends = backends

    @hookimpl
    def nuvom_queue_backends(self) -> dict[str, BackendFactory]:
        return self._backends.get("queue", {})

    @hookimpl
    def nuvom_result_backends(self) -> dict[str, BackendFactory]:
        return self._backends.get("result", {})

    @hookimpl
    def nuvom_scheduler_backends(self) -> dict[str, BackendFactory]:
        return self._backends.get("scheduler", {})


def from_toml(path: Path) -> Iterator[Discovered]:
    """Plugins named in a ``.nuvom_plugins.toml`` file.

    Raises:
        PluginLoadError: naming the file, the line and the reason.
    """
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise PluginLoadError(f"{path}:{line}: not UTF-8 text: {exc}", file=path, line=line) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else max(1, len(text.splitlines()))  # "at end of document"
        raise PluginLoadError(f"{path}:{line}: malformed TOML: {exc}", file=path, line=line) from None
    table = data.get("plugins")
    unknown_top = set(data) - {"plugins"}
    if unknown_top:
        key = sorted(unknown_top)[0]
        raise PluginLoadError(
            f"{path}:{_line_of(text, key)}: unknown table {key!r}; only [plugins] is read",
            file=path,
            line=_line_of(text, key),
        )
    if table is None:
        return
    _import_beside(path)
    for key, value in table.items():
        line = _line_of(text, key)
        if key not in _KEYS:
            raise PluginLoadError(
                f"{path}:{line}: unknown key {key!r} in [plugins]; known keys: {', '.join(sorted(_KEYS))}",
                file=path,
                line=line,
            )
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise PluginLoadError(f"{path}:{line}: {key} must be a list of strings", file=path, line=line)
    backends: dict[str, dict[str, BackendFactory]] = {}
    for key, kind in _BACKEND_KEYS.items():
        for target in table.get(key, []):
            cls = _import_or_fail(path, text, target)
            name = getattr(cls, "name", None)
            if not isinstance(name, str) or not name:
                line = _line_of(text, target)
                raise PluginLoadError(
                    f"{path}:{line}: {target} has no `name` attribute to register it under",
                    file=path,
                    line=line,
                )
            backends.setdefault(kind, {})[name] = backend_class_factory(cls)
    for target in table.get("modules", []):
        yield Discovered(target, _import_or_fail(path, text, target), str(path))
    if backends:
        yield Discovered(f"{path.name} backends", _ClassShorthand(backends), str(path))


def _import_beside(path: Path) -> None:
    """Put the toml file's folder first on ``sys.path``: its plugins are modules beside it."""
    folder = str(path.resolve().parent)
    if folder in sys.path:
        sys.path.remove(folder)
    sys.path.insert(0, folder)
    importlib.invalidate_caches()


def _import_or_fail(path: Path, text: str, target: str) -> Any:
    line = _line_of(text, f'"{target}"')
    try:
        return import_target(target)
    except Exception as exc:  # ImportError, or whatever the module raised while it was imported
        raise PluginLoadError(
            f"{path}:{line}: cannot import {target!r}: {type(exc).__name__}: {exc}", file=path, line=line
        ) from exc


def toml_path(cwd: Path | None = None) -> Path | None:
    """``.nuvom_plugins.toml`` in ``cwd`` (default: the working directory), if there is one."""
    path = (cwd or Path.cwd()) / TOML_FILE
    return path if path.is_file() else None
