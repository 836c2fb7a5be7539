"""The SQLite result store: one row per job with the whole record, upserted."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from nuvom import serialization
from nuvom.backends import BaseResults, Capability
from nuvom.config import Settings
from nuvom.errors import CorruptEntry, SerializationError
from nuvom.record import JobRecord, JobStatus

from .connection import Database
from .schema import RESULTS
from .settings import SqliteSettings, database_path

_UPSERT = f"""
INSERT INTO {RESULTS} (id, status, created_at, expires_at, record) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    status = excluded.status, created_at = excluded.created_at,
    expires_at = excluded.expires_at, record = excluded.record
"""
_INSERT_NEW = (
    f"INSERT OR IGNORE INTO {RESULTS} (id, status, created_at, expires_at, record) VALUES (?, ?, ?, ?, ?)"
)
_LIVE = "(expires_at IS NULL OR expires_at > ?)"
#: Ids per ``IN (…)`` (well under SQLite's limit of bound parameters).
_CHUNK = 500


def _row(r: JobRecord) -> tuple[str, str, float, float | None, bytes]:
    return (r.id, r.status.value, r.created_at, r.expires_at, serialization.dumps(r.to_dict(), path="record"))


def upsert_records(conn: sqlite3.Connection, records: Sequence[JobRecord]) -> None:
    """Store ``records`` through ``conn``, inside the caller's transaction."""
    conn.executemany(_UPSERT, [_row(r) for r in records])


def live_records(conn: sqlite3.Connection, job_ids: Sequence[str], now: float) -> dict[str, JobRecord]:
    """The stored, unexpired records of ``job_ids`` that decode, read inside the caller's transaction.

    A record that does not decode is left out: whoever needs it reads it again through
    :meth:`SqliteResults.get_full`, which reports it as corrupt.
    """
    found: dict[str, JobRecord] = {}
    for start in range(0, len(job_ids), _CHUNK):
        part = job_ids[start : start + _CHUNK]
        marks = ", ".join("?" * len(part))
        sql = f"SELECT id, record FROM {RESULTS} WHERE id IN ({marks}) AND {_LIVE}"
        for job_id, data in conn.execute(sql, (*part, now)):
            try:
                found[job_id] = decode_record(job_id, data)
            except CorruptEntry:
                continue
    return found


def decode_record(job_id: str, data: object) -> JobRecord:
    """Rebuild a stored record.

    Raises:
        CorruptEntry: when the stored bytes are not a job record.
    """
    try:
        if not isinstance(data, bytes):
            raise TypeError(f"stored as {type(data).__name__}, not bytes")
        return JobRecord.from_dict(serialization.loads(data))
    except (SerializationError, CorruptEntry, TypeError, AttributeError) as exc:
        raise CorruptEntry(f"result of job {job_id!r} cannot be decoded: {exc}") from None


class SqliteResults(BaseResults):
    """Job records in the ``nuvom_results`` table of a SQLite database.

    Expired records are never returned, and are deleted by :meth:`purge_expired`, which
    :meth:`save_many` also runs at most every ``purge_interval_secs`` (0: never).
    """

    name: ClassVar[str] = "sqlite"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.CROSS_PROCESS, Capability.PERSISTENT}
    )

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout_secs: float = 10.0,
        synchronous: str = "NORMAL",
        purge_interval_secs: float = 60.0,
    ) -> None:
        self.database = Database(path, busy_timeout_secs=busy_timeout_secs, synchronous=synchronous)
        self.purge_interval_secs = purge_interval_secs
        self._purge_lock = threading.Lock()
        self._last_purge = time.monotonic()

    @classmethod
    def from_settings(cls, settings: Settings) -> SqliteResults:
        """The store in ``NUVOM_SQLITE_PATH`` with the ``NUVOM_SQLITE_*`` settings."""
        own = SqliteSettings.load()
        return cls(
            database_path(settings, own),
            busy_timeout_secs=own.sqlite_busy_timeout_secs,
            synchronous=own.sqlite_synchronous,
            purge_interval_secs=own.sqlite_purge_interval_secs,
        )

    def save(self, record: JobRecord, *, durable: bool = True) -> None:
        self.save_many([record], durable=durable)

    def save_many(self, records: Sequence[JobRecord], *, durable: bool = True) -> None:
        """Upsert every record in one transaction (``durable`` is the database's own setting)."""
        if records:
            self.database.write(lambda conn: upsert_records(conn, records), "saving results")
        self._maybe_purge()

    def save_new(self, record: JobRecord, *, durable: bool = True) -> bool:
        """Insert ``record`` only if no record (expired or not) holds its id; ``True`` if inserted."""
        row = _row(record)
        return bool(
            self.database.write(
                lambda conn: conn.execute(_INSERT_NEW, row).rowcount == 1, "saving a new result"
            )
        )

    def get_full(self, job_id: str) -> JobRecord | None:
        rows = self.database.query(
            f"SELECT record FROM {RESULTS} WHERE id = ? AND {_LIVE}",
            (job_id, time.time()),
            "reading a result",
        )
        return decode_record(job_id, rows[0][0]) if rows else None

    def list_jobs(self, status: JobStatus | None = None, limit: int = 50, offset: int = 0) -> list[JobRecord]:
        where, params = (f"status = ? AND {_LIVE}", [status.value]) if status else (_LIVE, [])
        sql = f"SELECT id, record FROM {RESULTS} WHERE {where} ORDER BY created_at DESC LIMIT ? OFFSET ?"
        rows = self.database.query(sql, (*params, time.time(), limit, offset), "listing jobs")
        return [decode_record(job_id, data) for job_id, data in rows]

    def delete(self, job_id: str) -> bool:
        deleted: int = self.database.write(
            lambda conn: conn.execute(f"DELETE FROM {RESULTS} WHERE id = ?", (job_id,)).rowcount,
            "deleting a result",
        )
        return deleted > 0

    def purge_expired(self, now: float | None = None) -> int:
        moment = time.time() if now is None else now
        purged: int = self.database.write(
            lambda conn: (
                conn.execute(
                    f"DELETE FROM {RESULTS} WHERE expires_at IS NOT NULL AND expires_at <= ?", (moment,)
                ).rowcount
            ),
            "purging expired results",
        )
        return purged

    def _maybe_purge(self) -> None:
        if not self.purge_interval_secs:
            return
        with self._purge_lock:
            if time.monotonic() - self._last_purge < self.purge_interval_secs:
                return
            self._last_purge = time.monotonic()
        self.purge_expired()

    def close(self) -> None:
        self.database.close()
