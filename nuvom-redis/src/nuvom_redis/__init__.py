"""Nuvom on Redis: a multi-host, at-least-once queue, a result store and a scheduler store (``redis``)."""

from __future__ import annotations

from .queue import RedisQueue
from .results import RedisResults
from .scheduler import RedisScheduler
from .settings import RedisSettings

__all__ = ["RedisQueue", "RedisResults", "RedisScheduler", "RedisSettings"]
