"""The SQLite plugin's own settings, read from ``NUVOM_SQLITE_*`` like the core's."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from nuvom.config import PluginSettings, Settings

#: ``NORMAL`` (fast, may lose the last commits on power loss, never corrupts) or ``FULL``.
Synchronous = Literal["NORMAL", "FULL"]


class SqliteSettings(PluginSettings):
    """``NUVOM_SQLITE_PATH``, ``NUVOM_SQLITE_BUSY_TIMEOUT_SECS``, ``NUVOM_SQLITE_SYNCHRONOUS``, and more."""

    #: The database file; unset: ``<NUVOM_DATA_DIR>/nuvom.db``.
    sqlite_path: Path | None = None

    #: How long a write waits for another process's write before it fails.
    sqlite_busy_timeout_secs: float = Field(10.0, gt=0)
    #: ``PRAGMA synchronous``: ``NORMAL`` survives a process crash, ``FULL`` also a power loss.
    sqlite_synchronous: Synchronous = "NORMAL"
    #: Seconds between opportunistic purges of expired results (0 turns them off).
    sqlite_purge_interval_secs: float = Field(60.0, ge=0)


def database_path(settings: Settings, own: SqliteSettings) -> Path:
    """``NUVOM_SQLITE_PATH``, or ``<NUVOM_DATA_DIR>/nuvom.db`` when it is unset."""
    return own.sqlite_path if own.sqlite_path is not None else settings.data_dir / "nuvom.db"
