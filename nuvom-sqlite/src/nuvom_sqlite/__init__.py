"""SQLite queue, result and scheduler store for Nuvom (backends named ``sqlite``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nuvom.lazy import lazy_exports

if TYPE_CHECKING:
    from .queue import SqliteQueue as SqliteQueue
    from .results import SqliteResults as SqliteResults
    from .scheduler import SqliteScheduler as SqliteScheduler
    from .settings import SqliteSettings as SqliteSettings

#: Each public name and the module defining it, imported on first use: loading the plugin (which every
#: ``nuvom`` command and worker does) imports no backend.
_EXPORTS = {
    "SqliteQueue": ".queue",
    "SqliteResults": ".results",
    "SqliteScheduler": ".scheduler",
    "SqliteSettings": ".settings",
}

__all__ = ["SqliteQueue", "SqliteResults", "SqliteScheduler", "SqliteSettings"]

__getattr__ = lazy_exports(__name__, _EXPORTS)
