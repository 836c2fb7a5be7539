"""The Redis queue's limiter: rate windows and slot leases, each call one atomic Lua script.

Times are the callers' clocks (epoch seconds), as for etas: the hosts sharing a limit must keep
their clocks in sync.
"""

from __future__ import annotations

import uuid

from nuvom.backends.limits import PRUNE_PERIODS

from .client import Connection
from .keys import LimitKeys
from .scripts import Scripts


class RedisLimiter:
    """A :class:`~nuvom.backends.limits.Limiter` on the queue's Redis server."""

    def __init__(self, connection: Connection, prefix: str) -> None:
        self.connection = connection
        self.prefix = prefix
        self._scripts = Scripts(connection, "limit_rate", "limit_slot")

    def take_start(self, key: str, limit: int, period_secs: float, now: float) -> float:
        args = [
            limit,
            repr(float(period_secs)),
            repr(float(now)),
            f"{now!r}:{uuid.uuid4().hex}",
            PRUNE_PERIODS,
        ]
        with self.connection.errors(f"counting a start of limit key {key!r}"):
            reply = self._scripts.run("limit_rate", [LimitKeys(self.prefix, key).starts], args)
        return float(reply)

    def _slot(self, op: str, key: str, holder: str, limit: int, lease_secs: float, now: float) -> float:
        args = [op, holder, limit, repr(float(lease_secs)), repr(float(now))]
        with self.connection.errors(f"updating the slots of limit key {key!r}"):
            reply = self._scripts.run("limit_slot", [LimitKeys(self.prefix, key).slots], args)
        return float(reply)

    def acquire_slot(self, key: str, limit: int, holder: str, lease_secs: float, now: float) -> float:
        return self._slot("acquire", key, holder, limit, lease_secs, now)

    def renew_slot(self, key: str, holder: str, lease_secs: float, now: float) -> bool:
        return self._slot("renew", key, holder, 0, lease_secs, now) == 0.0

    def release_slot(self, key: str, holder: str) -> None:
        self._slot("release", key, holder, 0, 0.0, 0.0)
