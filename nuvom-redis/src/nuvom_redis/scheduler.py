"""The Redis scheduler store: schedules in hashes, due times and claims in sorted sets.

``claim_due`` and ``mark_fired`` are one Lua script each, so one fire is claimed by one scheduler
across processes and hosts. Times are the caller's (``now`` of ``claim_due``), never Redis's
clock. ``next_run`` is kept as the text of the exact float, and ``mark_fired`` compares that
text. See ``keys.py`` for the layout. A schedule whose record cannot be decoded is never fired:
``claim_due`` moves it to the rejected hash; ``get`` and ``list`` skip it.
"""

from __future__ import annotations

import builtins
import logging
from typing import Any, ClassVar

from nuvom.backends import Capability
from nuvom.config import Settings
from nuvom.errors import CorruptEntry
from nuvom.scheduling.record import ScheduleRecord

from .client import Connection, drop_keys, text
from .keys import ScheduleKeys
from .scripts import Scripts
from .settings import RedisSettings

logger = logging.getLogger(__name__)


def _float(value: float) -> str:
    """The exact text of ``value`` (Redis and Lua read it back as the same double)."""
    return repr(float(value))


def _runs(schedule: ScheduleRecord) -> str:
    """The ``runs`` field: ``next_run|run_count|last_run``."""
    last = "" if schedule.last_run is None else _float(schedule.last_run)
    return f"{_float(schedule.next_run)}|{schedule.run_count}|{last}"


def _decode(schedule_id: str, blob: Any, runs: Any, claimed_until: float | None) -> ScheduleRecord:
    """The schedule stored as ``blob`` with its run state and claim.

    Raises:
        CorruptEntry: when the record or its run state cannot be read.
    """
    if blob is None or runs is None:
        raise CorruptEntry(f"schedule {schedule_id!r} is missing its {'record' if blob is None else 'runs'}")
    record = ScheduleRecord.loads(blob)
    if record.id != schedule_id:
        raise CorruptEntry(f"schedule {schedule_id!r} holds the record of {record.id!r}")
    try:
        next_run, run_count, last_run = text(runs).split("|")
        return record.replace(
            next_run=float(next_run),
            run_count=int(run_count),
            last_run=float(last_run) if last_run else None,
            claimed_until=claimed_until,
        )
    except ValueError:
        raise CorruptEntry(f"schedule {schedule_id!r} has unreadable runs {runs!r}") from None


class RedisScheduler:
    """Schedules on Redis, shared by any number of schedulers on any number of hosts."""

    name: ClassVar[str] = "redis"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.CROSS_PROCESS, Capability.PERSISTENT}
    )

    def __init__(self, connection: Connection, *, prefix: str = "nuvom") -> None:
        self.connection = connection
        self.keys = ScheduleKeys(prefix)
        self._redis = connection.client
        self._scripts = Scripts(connection, "schedule_claim", "schedule_fired", "schedule_reject")

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisScheduler:
        """The store at ``NUVOM_REDIS_URL``, with the plugin's ``NUVOM_REDIS_*`` settings."""
        own = RedisSettings.load()
        return cls(Connection(own.redis_url, own), prefix=own.key_prefix)

    def add(self, schedule: ScheduleRecord) -> None:
        k = self.keys
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(k.records, schedule.id, schedule.dumps())
        pipe.hset(k.runs, schedule.id, _runs(schedule))
        pipe.zadd(k.next, {schedule.id: schedule.next_run})
        if schedule.claimed_until is None:
            pipe.zrem(k.claims, schedule.id)
        else:
            pipe.zadd(k.claims, {schedule.id: schedule.claimed_until})
        with self.connection.errors("adding a schedule"):
            pipe.execute()

    def get(self, schedule_id: str) -> ScheduleRecord | None:
        k = self.keys
        pipe = self._redis.pipeline(transaction=True)
        pipe.hget(k.records, schedule_id)
        pipe.hget(k.runs, schedule_id)
        pipe.zscore(k.claims, schedule_id)
        with self.connection.errors("reading a schedule"):
            blob, runs, claimed_until = pipe.execute()
        if blob is None and runs is None:
            return None
        return self._readable(schedule_id, blob, runs, claimed_until)

    def list(self) -> builtins.list[ScheduleRecord]:
        k = self.keys
        pipe = self._redis.pipeline(transaction=True)
        pipe.hgetall(k.records)
        pipe.hgetall(k.runs)
        pipe.zrange(k.claims, 0, -1, withscores=True)
        with self.connection.errors("listing schedules"):
            blobs, runs, claims = pipe.execute()
        claimed = {text(i): score for i, score in claims}
        runs = {text(i): value for i, value in runs.items()}
        found = []
        for raw_id, blob in blobs.items():
            schedule_id = text(raw_id)
            record = self._readable(schedule_id, blob, runs.get(schedule_id), claimed.get(schedule_id))
            if record is not None:
                found.append(record)
        return sorted(found, key=lambda s: (s.next_run, s.id))

    def _readable(
        self, schedule_id: str, blob: Any, runs: Any, claimed_until: float | None
    ) -> ScheduleRecord | None:
        try:
            return _decode(schedule_id, blob, runs, claimed_until)
        except CorruptEntry as exc:
            logger.error("schedule %r is unreadable and skipped: %s", schedule_id, exc.reason)
            return None

    def cancel(self, schedule_id: str) -> bool:
        k = self.keys
        pipe = self._redis.pipeline(transaction=True)
        pipe.hdel(k.records, schedule_id)
        pipe.hdel(k.runs, schedule_id)
        pipe.zrem(k.next, schedule_id)
        pipe.zrem(k.claims, schedule_id)
        with self.connection.errors("cancelling a schedule"):
            removed = pipe.execute()
        return any(removed)

    def claim_due(self, now: float, limit: int, *, lease_secs: float = 30.0) -> builtins.list[ScheduleRecord]:
        claimed_until = float(now + lease_secs)
        claimed: builtins.list[ScheduleRecord] = []
        while len(claimed) < limit:
            wanted = limit - len(claimed)
            with self.connection.errors("claiming due schedules"):
                reply = self._scripts.run(
                    "schedule_claim", [self.keys.base], [_float(now), wanted, _float(claimed_until)]
                )
            for i in range(0, len(reply), 3):
                schedule_id, blob, runs = text(reply[i]), reply[i + 1] or None, reply[i + 2] or None
                try:
                    claimed.append(_decode(schedule_id, blob, runs, claimed_until))
                except CorruptEntry as exc:
                    self._reject(schedule_id, blob, exc.reason)
            if len(reply) < 3 * wanted:
                break
        return sorted(claimed, key=lambda s: (s.next_run, s.id))

    def _reject(self, schedule_id: str, blob: bytes | None, reason: str) -> None:
        with self.connection.errors("setting aside an unreadable schedule"):
            moved = self._scripts.run("schedule_reject", [self.keys.base], [schedule_id, blob or b""])
        if moved:
            logger.error(
                "set aside unreadable schedule %r in %s: %s", schedule_id, self.keys.rejected, reason
            )

    def mark_fired(self, schedule_id: str, fire_ts: float, next_run: float | None) -> bool:
        after = "" if next_run is None else _float(next_run)
        with self.connection.errors("marking a schedule fired"):
            applied = self._scripts.run(
                "schedule_fired", [self.keys.base], [schedule_id, _float(fire_ts), after]
            )
        return bool(applied)

    def drop_namespace(self) -> int:
        """Delete every key under this store's prefix (the conformance suite's namespace)."""
        return drop_keys(self.connection, self.keys.prefix)

    def close(self) -> None:
        """Close every pooled connection. Idempotent."""
        self.connection.close()
