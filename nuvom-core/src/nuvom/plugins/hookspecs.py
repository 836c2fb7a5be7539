"""Hook specifications: the one boundary every backend, ours or a third party's, plugs into."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from ..config import Settings

PROJECT_NAME = "nuvom"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

#: Builds a backend from the effective settings.
BackendFactory = Callable[["Settings"], Any]


@hookspec
def nuvom_queue_backends() -> dict[str, BackendFactory]:  # type: ignore[empty-body]
    """Queue backends this plugin provides, by name; each factory takes the settings."""


@hookspec
def nuvom_result_backends() -> dict[str, BackendFactory]:  # type: ignore[empty-body]
    """Result backends this plugin provides, by name; each factory takes the settings."""


@hookspec
def nuvom_scheduler_backends() -> dict[str, BackendFactory]:  # type: ignore[empty-body]
    """Scheduler stores this plugin provides, by name; each factory takes the settings."""
