"""Nuvom on Redis: a multi-host, at-least-once queue, a result store and a scheduler store (``redis``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nuvom.lazy import lazy_exports

if TYPE_CHECKING:
    from .queue import RedisQueue as RedisQueue
    from .results import RedisResults as RedisResults
    from .scheduler import RedisScheduler as RedisScheduler
    from .settings import RedisSettings as RedisSettings

#: Each public name and the module defining it, imported on first use: loading the plugin (which every
#: ``nuvom`` command and worker does) must not import redis-py.
_EXPORTS = {
    "RedisQueue": ".queue",
    "RedisResults": ".results",
    "RedisScheduler": ".scheduler",
    "RedisSettings": ".settings",
}

__all__ = ["RedisQueue", "RedisResults", "RedisScheduler", "RedisSettings"]

__getattr__ = lazy_exports(__name__, _EXPORTS)
