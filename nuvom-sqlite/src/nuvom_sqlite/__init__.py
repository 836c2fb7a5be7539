"""SQLite queue, result and scheduler store for Nuvom (backends named ``sqlite``)."""

from .queue import SqliteQueue as SqliteQueue
from .results import SqliteResults as SqliteResults
from .scheduler import SqliteScheduler as SqliteScheduler
from .settings import SqliteSettings as SqliteSettings

__all__ = ["SqliteQueue", "SqliteResults", "SqliteScheduler", "SqliteSettings"]
