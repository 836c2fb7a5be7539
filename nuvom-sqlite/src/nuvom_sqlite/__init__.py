"""SQLite queue and result store for Nuvom (backends named ``sqlite``)."""

from .queue import SqliteQueue as SqliteQueue
from .results import SqliteResults as SqliteResults
from .settings import SqliteSettings as SqliteSettings

__all__ = ["SqliteQueue", "SqliteResults", "SqliteSettings"]
