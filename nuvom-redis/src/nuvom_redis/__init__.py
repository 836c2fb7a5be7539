"""Nuvom on Redis: a multi-host, at-least-once queue and a result store (backend name ``redis``)."""

from __future__ import annotations

from .queue import RedisQueue
from .results import RedisResults
from .settings import RedisSettings

__all__ = ["RedisQueue", "RedisResults", "RedisSettings"]
