"""An idle claimer's wait on a Redis Cluster: one BLPOP on its queues' wake-up lists.

A wake-up list someone turned into another type would fail that BLPOP (WRONGTYPE) every time.
It is left out of the wait instead, with one warning naming it, until it is a list again or
gone: its queue is still served (the lists are only read and given tokens, which skip it), and
its jobs are found by the next claim, at the latest when the bounded wait ends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import redis

from .client import Connection, text

logger = logging.getLogger(__name__)

_LIST_OR_NONE = ("list", "none")


class WakeWait:
    """Blocks in BLPOP on the wake-up lists given, passing over those of another type."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        #: Wake-up lists found holding another type, and the type.
        self._mistyped: dict[str, str] = {}

    def block(self, wake: Sequence[str], timeout: float) -> None:
        """Wait up to ``timeout`` seconds for a token on one of ``wake`` (all in one slot)."""
        if self._mistyped:
            self._check(list(self._mistyped))
        usable = [key for key in wake if key not in self._mistyped]
        if not usable:  # nothing to wait in: the bounded wait passes, then the claimer looks again
            time.sleep(timeout)
            return
        try:
            self._connection.client.blpop(usable, timeout=timeout)
        except redis.ResponseError as exc:
            if not str(exc).startswith("WRONGTYPE"):
                raise
            self._check(usable)  # the wait is over; the next one leaves the mistyped lists out

    def _check(self, keys: list[str]) -> None:
        """Read the types of ``keys``; warn once for each found mistyped, and once it is repaired."""
        pipe = self._connection.client.pipeline(transaction=False)
        for key in keys:
            pipe.type(key)
        for key, kind in zip(keys, (text(t) for t in pipe.execute()), strict=True):
            if kind not in _LIST_OR_NONE and key not in self._mistyped:
                self._mistyped[key] = kind
                logger.warning(
                    "Redis at %s: idle claimers do not wait on this key until it is repaired: %s holds a %s,"
                    " not a list (its queue is served; its jobs are found when each bounded wait ends)",
                    self._connection.url,
                    key,
                    kind,
                )
            elif kind in _LIST_OR_NONE and key in self._mistyped:
                del self._mistyped[key]
                logger.warning("Redis at %s: idle claimers wait on %s again", self._connection.url, key)
