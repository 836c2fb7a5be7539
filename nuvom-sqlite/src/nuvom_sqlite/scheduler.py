"""The SQLite scheduler store: one row per schedule in the queue's database file.

``claim_due`` is one ``BEGIN IMMEDIATE`` transaction (an ``UPDATE … RETURNING`` over the
``next_run`` index), so one fire is claimed by one scheduler across processes. ``mark_fired`` is a
compare-and-set on the stored ``next_run``. A row whose record cannot be decoded is never fired:
``claim_due`` moves it to ``nuvom_schedules_quarantine``; ``get`` and ``list`` skip it.
"""

from __future__ import annotations

import builtins
import logging
import sqlite3
import time
from pathlib import Path
from typing import ClassVar

from nuvom.backends import Capability
from nuvom.backends.base import fired
from nuvom.config import Settings
from nuvom.errors import CorruptEntry
from nuvom.scheduling.record import ScheduleRecord

from .connection import Database
from .schema import SCHEDULES, SCHEDULES_QUARANTINE
from .settings import SqliteSettings, database_path

logger = logging.getLogger(__name__)

_UPSERT = f"""
INSERT INTO {SCHEDULES} (id, next_run, claimed_until, record) VALUES (?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    next_run = excluded.next_run, claimed_until = excluded.claimed_until, record = excluded.record
"""
_CLAIM = f"""
UPDATE {SCHEDULES} SET claimed_until = ?
WHERE id IN (
    SELECT id FROM {SCHEDULES}
    WHERE next_run <= ? AND (claimed_until IS NULL OR claimed_until <= ?)
    ORDER BY next_run, id LIMIT ?
)
RETURNING id, next_run, claimed_until, record
"""
_QUARANTINE = f"""
INSERT INTO {SCHEDULES_QUARANTINE} (schedule_id, record, reason, quarantined_at)
SELECT id, record, ?, ? FROM {SCHEDULES} WHERE id = ?
"""

Row = tuple[str, float, "float | None", object]


def _decode(row: Row) -> ScheduleRecord:
    """The record of a row, with the row's ``next_run`` and ``claimed_until``.

    Raises:
        CorruptEntry: when the stored bytes are not a schedule record.
    """
    schedule_id, next_run, claimed_until, data = row
    if not isinstance(data, bytes):
        raise CorruptEntry(f"schedule {schedule_id!r} is stored as {type(data).__name__}, not bytes")
    record = ScheduleRecord.loads(data)
    if record.id != schedule_id:
        raise CorruptEntry(f"schedule row {schedule_id!r} holds the record of {record.id!r}")
    # RETURNING gives the bound value, before the column's REAL affinity: an int stays an int.
    until = None if claimed_until is None else float(claimed_until)
    return record.replace(next_run=float(next_run), claimed_until=until)


def _readable(rows: builtins.list[Row]) -> builtins.list[ScheduleRecord]:
    records = []
    for row in rows:
        try:
            records.append(_decode(row))
        except CorruptEntry as exc:
            logger.error("schedule row %r is unreadable and skipped: %s", row[0], exc.reason)
    return records


def _write(conn: sqlite3.Connection, schedule: ScheduleRecord) -> None:
    conn.execute(_UPSERT, (schedule.id, schedule.next_run, schedule.claimed_until, schedule.dumps()))


class SqliteScheduler:
    """Schedules in the ``nuvom_schedules`` table of a SQLite database; safe across processes."""

    name: ClassVar[str] = "sqlite"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.CROSS_PROCESS, Capability.PERSISTENT}
    )

    def __init__(self, path: Path, *, busy_timeout_secs: float = 10.0, synchronous: str = "NORMAL") -> None:
        self.database = Database(path, busy_timeout_secs=busy_timeout_secs, synchronous=synchronous)

    @classmethod
    def from_settings(cls, settings: Settings) -> SqliteScheduler:
        """The store in ``NUVOM_SQLITE_PATH`` with the ``NUVOM_SQLITE_*`` settings."""
        own = SqliteSettings.load()
        return cls(
            database_path(settings, own),
            busy_timeout_secs=own.sqlite_busy_timeout_secs,
            synchronous=own.sqlite_synchronous,
        )

    def add(self, schedule: ScheduleRecord) -> None:
        self.database.write(lambda conn: _write(conn, schedule), "adding a schedule")

    def get(self, schedule_id: str) -> ScheduleRecord | None:
        rows = self.database.query(
            f"SELECT id, next_run, claimed_until, record FROM {SCHEDULES} WHERE id = ?",
            (schedule_id,),
            "reading a schedule",
        )
        found = _readable(rows)
        return found[0] if found else None

    def list(self) -> builtins.list[ScheduleRecord]:
        rows = self.database.query(
            f"SELECT id, next_run, claimed_until, record FROM {SCHEDULES} ORDER BY next_run, id",
            (),
            "listing schedules",
        )
        return _readable(rows)

    def cancel(self, schedule_id: str) -> bool:
        deleted: int = self.database.write(
            lambda conn: conn.execute(f"DELETE FROM {SCHEDULES} WHERE id = ?", (schedule_id,)).rowcount,
            "cancelling a schedule",
        )
        return deleted > 0

    def claim_due(self, now: float, limit: int, *, lease_secs: float = 30.0) -> builtins.list[ScheduleRecord]:
        def claim(conn: sqlite3.Connection) -> builtins.list[ScheduleRecord]:
            claimed: builtins.list[ScheduleRecord] = []
            while len(claimed) < limit:
                rows = conn.execute(_CLAIM, (now + lease_secs, now, now, limit - len(claimed))).fetchall()
                if not rows:
                    break
                for row in rows:
                    try:
                        claimed.append(_decode(row))
                    except CorruptEntry as exc:
                        conn.execute(_QUARANTINE, (exc.reason, time.time(), row[0]))
                        conn.execute(f"DELETE FROM {SCHEDULES} WHERE id = ?", (row[0],))
                        logger.error("quarantined schedule row %r: %s", row[0], exc.reason)
            return sorted(claimed, key=lambda s: (s.next_run, s.id))

        return self.database.write(claim, "claiming due schedules")

    def mark_fired(self, schedule_id: str, fire_ts: float, next_run: float | None) -> bool:
        def mark(conn: sqlite3.Connection) -> bool:
            rows = conn.execute(
                f"SELECT id, next_run, claimed_until, record FROM {SCHEDULES} WHERE id = ? AND next_run = ?",
                (schedule_id, fire_ts),
            ).fetchall()
            if not rows:
                return False
            if next_run is None:
                conn.execute(f"DELETE FROM {SCHEDULES} WHERE id = ?", (schedule_id,))
            else:
                _write(conn, fired(_decode(rows[0]), fire_ts, next_run))
            return True

        return self.database.write(mark, "marking a schedule fired")

    def close(self) -> None:
        """Close this process's connection. Idempotent."""
        self.database.close()
