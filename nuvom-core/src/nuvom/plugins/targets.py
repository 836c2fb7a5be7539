"""Turning what a user names on the command line into a backend factory."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Literal

from ..errors import PluginError
from .hookspecs import BackendFactory
from .loading import backend_class_factory, import_target
from .manager import backend_factories, plugin_backends

TargetKind = Literal["queue", "result", "scheduler"]


def _pick(
    offered: dict[str, BackendFactory], name: str | None, what: str, kind: str
) -> tuple[BackendFactory, str]:
    if name is not None:
        if name not in offered:
            raise PluginError(
                f"{what} offers no {kind} backend named {name!r}; it offers: {', '.join(offered)}"
            )
        return offered[name], name
    if len(offered) != 1:
        names = ", ".join(sorted(offered)) or "none"
        raise PluginError(f"{what} offers {kind} backends {names}; choose one with --name")
    (only,) = offered.items()
    return only[1], only[0]


def _from_entry_point(target: str, kind: TargetKind, name: str | None) -> tuple[BackendFactory, str] | None:
    for point in entry_points(group="nuvom"):
        dist = point.dist.name if point.dist is not None else None
        if target not in (point.name, dist):
            continue
        offered = plugin_backends(kind, point.name)  # every entry point is a registered plugin
        factory, chosen = _pick(offered, name, f"entry point {point.name!r}", kind)
        return factory, f"{chosen} (entry point {point.name} of {dist})"
    return None


def resolve_target(target: str, kind: TargetKind, name: str | None = None) -> tuple[BackendFactory, str]:
    """A factory for the backend ``target`` names, and a label for it.

    ``target`` is ``module:Class``, a registered backend name, or an installed entry point or
    distribution in the group ``nuvom`` (then ``name`` chooses among its backends).

    Raises:
        PluginError: when nothing matches, naming what is available.
    """
    if ":" in target:
        try:
            cls = import_target(target)
        except (ImportError, AttributeError) as exc:
            raise PluginError(f"cannot import {target!r}: {type(exc).__name__}: {exc}") from None
        return backend_class_factory(cls), target
    registered = backend_factories(kind)
    if target in registered:
        return registered[target], target
    found = _from_entry_point(target, kind, name)
    if found is not None:
        return found
    available = ", ".join(sorted(registered)) or "none"
    raise PluginError(
        f"no {kind} backend, entry point or distribution named {target!r}; "
        f"registered {kind} backends: {available}; or give module:Class"
    )
