"""The SQLite queue's limiter: rate windows and slot leases in two tables of the queue's database.

Each call is one ``BEGIN IMMEDIATE`` transaction, so it is atomic across every process and host
that opens the database file.
"""

from __future__ import annotations

import sqlite3

from nuvom.backends.limits import MIN_WAIT_SECS, PRUNE_PERIODS, slot_wait

from .connection import Database
from .schema import LIMIT_SLOTS, LIMIT_STARTS

_PRUNE_STARTS = f"DELETE FROM {LIMIT_STARTS} WHERE key = ? AND at <= ?"
_COUNT_STARTS = f"SELECT COUNT(*) FROM {LIMIT_STARTS} WHERE key = ? AND at > ?"
_NTH_START = f"SELECT at FROM {LIMIT_STARTS} WHERE key = ? AND at > ? ORDER BY at LIMIT 1 OFFSET ?"
_ADD_START = f"INSERT INTO {LIMIT_STARTS} (key, at) VALUES (?, ?)"
_PRUNE_SLOTS = f"DELETE FROM {LIMIT_SLOTS} WHERE key = ? AND expires <= ?"
_SLOTS = f"SELECT holder, expires FROM {LIMIT_SLOTS} WHERE key = ?"
_PUT_SLOT = f"INSERT OR REPLACE INTO {LIMIT_SLOTS} (key, holder, expires) VALUES (?, ?, ?)"
_RENEW_SLOT = f"UPDATE {LIMIT_SLOTS} SET expires = ? WHERE key = ? AND holder = ? AND expires > ?"
_RELEASE_SLOT = f"DELETE FROM {LIMIT_SLOTS} WHERE key = ? AND holder = ?"


class SqliteLimiter:
    """A :class:`~nuvom.backends.limits.Limiter` on the queue's database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def take_start(self, key: str, limit: int, period_secs: float, now: float) -> float:
        def take(conn: sqlite3.Connection) -> float:
            conn.execute(_PRUNE_STARTS, (key, now - PRUNE_PERIODS * period_secs))
            (count,) = conn.execute(_COUNT_STARTS, (key, now - period_secs)).fetchone()
            if count < limit:
                conn.execute(_ADD_START, (key, now))
                return 0.0
            # the window has room once the start at rank count - limit (oldest first) has left it
            (leaving,) = conn.execute(_NTH_START, (key, now - period_secs, count - limit)).fetchone()
            return max(MIN_WAIT_SECS, float(leaving) + period_secs - now)

        return self.database.write(take, f"counting a start of limit key {key!r}")

    def acquire_slot(self, key: str, limit: int, holder: str, lease_secs: float, now: float) -> float:
        def acquire(conn: sqlite3.Connection) -> float:
            conn.execute(_PRUNE_SLOTS, (key, now))
            leases = dict(conn.execute(_SLOTS, (key,)).fetchall())
            wait = slot_wait(leases, limit, holder, now)
            if wait == 0.0:
                conn.execute(_PUT_SLOT, (key, holder, now + lease_secs))
            return wait

        return self.database.write(acquire, f"taking a slot of limit key {key!r}")

    def renew_slot(self, key: str, holder: str, lease_secs: float, now: float) -> bool:
        changed: int = self.database.write(
            lambda conn: conn.execute(_RENEW_SLOT, (now + lease_secs, key, holder, now)).rowcount,
            f"renewing a slot of limit key {key!r}",
        )
        return changed > 0

    def release_slot(self, key: str, holder: str) -> None:
        self.database.write(
            lambda conn: conn.execute(_RELEASE_SLOT, (key, holder)), f"freeing a slot of limit key {key!r}"
        )
