"""The SQLite queue: leases in one table, claimed in ``BEGIN IMMEDIATE`` transactions.

See :mod:`nuvom_sqlite.schema` for the layout. A claim is one write transaction: promote rows
whose due time passed (scheduled jobs and lapsed leases) to ready, pick the most urgent ready
rows of the asked queues through the claim index, and mark them leased with ``UPDATE …
RETURNING``, which sets a fresh token, the expiry, and one more delivery. ``ack``, ``nack`` and
``extend`` only touch a row that still carries the caller's token, so a worker whose lease was
taken over changes nothing. An idle ``pop_batch`` waits for the touch of the database file that
follows every enqueue or return of a job (inotify, where there is one; else short, growing
sleeps) and claims again as soon as ``PRAGMA data_version`` says another connection committed,
or a job falls due.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from nuvom.backends import (
    BaseQueue,
    Capability,
    Completion,
    Envelope,
    Lease,
    Quarantined,
    QueueDepth,
    QueueDepths,
    QueueStats,
    ResultBackend,
    WorkerInfo,
)
from nuvom.backends.folder_watch import FolderWatch, touch
from nuvom.config import Settings
from nuvom.errors import CorruptEntry
from nuvom.message import stored_id

from .connection import Database
from .limits import SqliteLimiter
from .results import SqliteResults, live_records, upsert_records
from .schema import CLAIM_INDEX, QUARANTINE, QUEUE, WAITING_INDEX, WORKERS
from .settings import SqliteSettings, database_path

logger = logging.getLogger(__name__)

#: First and longest sleep between checks of an idle queue for a commit, where files cannot be watched.
_MIN_POLL_SECS = 0.001
_MAX_POLL_SECS = 0.005
#: Rows per ``UPDATE … WHERE seq IN (…)`` (well under SQLite's limit of bound parameters).
_CHUNK = 500

_INSERT = f"""
INSERT OR REPLACE INTO {QUEUE} (id, queue, priority, eta, attempts, deliveries, ready, due, token, payload)
VALUES (?, ?, ?, ?, ?, 0, ?, ?, NULL, ?)
"""
_PROMOTE = f"UPDATE {QUEUE} SET ready = 1 WHERE ready = 0 AND due <= ?"
_READY_OF_QUEUE = (
    f"SELECT seq, priority, due FROM {QUEUE} WHERE ready = 1 AND queue = ? "
    "ORDER BY priority, due, seq LIMIT ?"
)
_LEASE = f"""
UPDATE {QUEUE} SET ready = 0, due = ?, token = ?, deliveries = deliveries + 1 WHERE seq IN ({{marks}})
RETURNING seq, id, queue, priority, eta, attempts, deliveries, payload
"""
_NEXT_DUE = f"SELECT MIN(due) FROM {QUEUE} WHERE ready = 0"
_ACK = f"DELETE FROM {QUEUE} WHERE id = ? AND token = ?"
_NACK = f"""
UPDATE {QUEUE} SET token = NULL, deliveries = 0, attempts = attempts + ?, due = ?, ready = ?
WHERE id = ? AND token = ?
"""
_EXTEND = f"UPDATE {QUEUE} SET due = ?, ready = 0 WHERE id = ? AND token = ?"
_QUARANTINE_ROW = f"""
INSERT INTO {QUARANTINE} (job_id, queue, payload, reason, quarantined_at)
SELECT id, queue, payload, ?, ? FROM {QUEUE} WHERE seq = ?
"""


#: What an empty claim saw: the ``data_version`` and the due time of the next waiting row.
_Idle = tuple[int, float | None]


def claim_sql(queue_count: int) -> str:
    """The query picking the most urgent ready rows of ``queue_count`` queues: each by its index."""
    if queue_count == 1:
        return _READY_OF_QUEUE
    parts = " UNION ALL ".join([f"SELECT * FROM ({_READY_OF_QUEUE})"] * queue_count)
    return f"{parts} ORDER BY priority, due, seq LIMIT ?"


class SqliteQueue(BaseQueue):
    """A durable queue with leases in a SQLite database; safe across threads and processes."""

    name: ClassVar[str] = "sqlite"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.CROSS_PROCESS, Capability.PERSISTENT, Capability.QUARANTINE, Capability.EXACT_ORDER}
    )

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout_secs: float = 10.0,
        synchronous: str = "NORMAL",
        watch: bool = True,
        read_records: bool = False,
    ) -> None:
        """Open (creating it) the queue in the database file ``path``.

        Args:
            path: the database file.
            busy_timeout_secs: how long a write waits for the database's write lock.
            synchronous: SQLite's ``PRAGMA synchronous`` (``NORMAL`` or ``FULL``).
            watch: let an idle claimer wait for a commit to the file (Linux inotify); ``False`` polls.
            read_records: each claim also reads its jobs' records from this file's results table
                into :attr:`Lease.record` (when the workers' result backend is that table), which
                spares the worker one read per job.
        """
        self.database = Database(path, busy_timeout_secs=busy_timeout_secs, synchronous=synchronous)
        self._read_records = read_records
        # Writes through this instance do not move its own connection's data_version: count them.
        self._changed = threading.Condition()
        self._writes = 0
        # Every write that may make a job claimable touches the database file once committed
        # (the WAL is written before a commit is visible: a waiter woken by it could look too early).
        self._watch = FolderWatch(names={self.database.path.name}, touches=True, enabled=watch)
        self._watched = (self.database.path.parent,)

    @classmethod
    def from_settings(cls, settings: Settings) -> SqliteQueue:
        """The queue in ``NUVOM_SQLITE_PATH`` with the ``NUVOM_SQLITE_*`` settings."""
        own = SqliteSettings.load()
        return cls(
            database_path(settings, own),
            busy_timeout_secs=own.sqlite_busy_timeout_secs,
            synchronous=own.sqlite_synchronous,
            read_records=settings.result_backend == SqliteResults.name,  # the same file, then
        )

    def _wrote(self) -> None:
        """Wake the claimers waiting for a commit: this instance's threads and other processes."""
        with self._changed:
            self._writes += 1
            self._changed.notify_all()
        touch(self.database.path)

    # -- enqueue ---------------------------------------------------------------------------

    def enqueue(self, envelope: Envelope) -> None:
        self.enqueue_many([envelope])

    def enqueue_many(self, envelopes: Sequence[Envelope]) -> None:
        """Store every job in one transaction."""
        if not envelopes:
            return
        now = time.time()
        rows = []
        for env in envelopes:
            due = env.eta if env.eta is not None else now
            ready = int(due <= now)
            rows.append((env.id, env.queue, env.priority, env.eta, env.attempts, ready, due, env.payload))
        self.database.write(lambda conn: conn.executemany(_INSERT, rows), "enqueueing")
        self._wrote()

    # -- claim -----------------------------------------------------------------------------

    def pop_batch(self, n: int, *, queues: Sequence[str], timeout: float, lease_secs: float) -> list[Lease]:
        if n <= 0 or not queues:
            return []
        deadline = time.monotonic() + timeout
        while True:
            with self._changed:
                writes = self._writes
            leases, idle = self._claim(n, queues, lease_secs)
            left = deadline - time.monotonic()
            if leases or left <= 0:
                return leases
            if idle is None:
                continue  # every row picked was corrupt and is quarantined now: claim again
            version, next_due = idle
            if next_due is not None:
                left = min(left, max(0.0, next_due - time.time()))
            self._wait_for_change(writes, version, left)

    def _wait_for_change(self, writes: int, version: int, secs: float) -> None:
        """Wait up to ``secs``, returning early once anything may have become claimable.

        A write that may make a job claimable touches the database file after its commit, which
        wakes the watch on its folder; without a watch, sleep in short growing steps (a write
        through this instance ends the sleep at once). Either way, ``data_version`` tells
        another connection's commit from a mere wake.
        """
        end = time.monotonic() + secs
        step = _MIN_POLL_SECS
        while (left := end - time.monotonic()) > 0:
            if not self._watch.wait(self._watched, left):
                with self._changed:
                    if self._writes == writes:
                        self._changed.wait(min(step, left))
                step = min(step * 1.5, _MAX_POLL_SECS)
            if self._writes != writes or self.database.data_version() != version:
                return

    def _claim(self, n: int, queues: Sequence[str], lease_secs: float) -> tuple[list[Lease], _Idle | None]:
        """Lease up to ``n`` jobs; ``None`` or, when none was ready, what to wait for.

        That is the ``data_version`` the claim saw (another process's commit changes it) and when
        the next waiting row falls due.
        """

        def claim(conn: sqlite3.Connection) -> tuple[list[Lease], _Idle | None]:
            now = time.time()
            conn.execute(_PROMOTE, (now,))
            params: list[object] = [p for queue in queues for p in (queue, n)]
            if len(queues) > 1:
                params.append(n)
            chosen = [row[0] for row in conn.execute(claim_sql(len(queues)), params)]
            if not chosen:
                version = conn.execute("PRAGMA data_version").fetchone()[0]
                return [], (version, conn.execute(_NEXT_DUE).fetchone()[0])
            token = uuid.uuid4().hex
            expires_at = now + lease_secs
            rows: dict[int, tuple[Any, ...]] = {}
            for start in range(0, len(chosen), _CHUNK):
                part = chosen[start : start + _CHUNK]
                sql = _LEASE.format(marks=", ".join("?" * len(part)))
                rows.update((row[0], row) for row in conn.execute(sql, (expires_at, token, *part)).fetchall())
            leases = []
            for seq in chosen:
                try:
                    envelope = _envelope(rows[seq])
                except CorruptEntry as exc:
                    _quarantine(conn, seq, exc.reason, now)
                    continue
                leases.append(Lease(envelope, rows[seq][6], expires_at, token))
            if self._read_records and leases:
                records = live_records(conn, [lease.id for lease in leases], now)
                for lease in leases:
                    lease.record = records.get(lease.id)
            return leases, None

        return self.database.write(claim, "claiming jobs")

    # -- lease lifecycle -------------------------------------------------------------------

    def ack(self, lease: Lease) -> None:
        self.database.write(lambda conn: conn.execute(_ACK, (lease.id, lease.token)), "acking a job")

    def nack(self, lease: Lease, *, retry_at: float | None = None) -> None:
        self.database.write(lambda conn: _nack(conn, lease, retry_at), "nacking a job")
        self._wrote()

    def defer(self, lease: Lease, until: float) -> None:
        """Return the held job, due at ``until``, with its attempts unchanged."""
        params = (0, until, int(until <= time.time()), lease.id, lease.token)
        self.database.write(lambda conn: conn.execute(_NACK, params), "deferring a job")
        self._wrote()

    def limiter(self) -> SqliteLimiter:
        """Counters in this queue's database, shared by every process that opens it."""
        return SqliteLimiter(self.database)

    def extend(self, lease: Lease, lease_secs: float) -> bool:
        expires_at = time.time() + lease_secs
        changed: int = self.database.write(
            lambda conn: conn.execute(_EXTEND, (expires_at, lease.id, lease.token)).rowcount,
            "extending a lease",
        )
        if changed:
            lease.expires_at = expires_at
        return changed > 0

    def complete_many(self, completions: Sequence[Completion], results: ResultBackend) -> list[bool] | None:
        """Store each record and settle its lease in one transaction, fenced by the lease token.

        Only when ``results`` is a :class:`SqliteResults` on this same database file; otherwise
        ``None`` and nothing is done.
        """
        if not isinstance(results, SqliteResults) or not results.database.same_file(self.database):
            return None
        if not completions:
            return []

        def complete(conn: sqlite3.Connection) -> list[bool]:
            applied = []
            for completion in completions:
                if completion.retry_at is None:
                    held = conn.execute(_ACK, (completion.lease.id, completion.lease.token)).rowcount > 0
                else:
                    held = _nack(conn, completion.lease, completion.retry_at)
                if held:
                    upsert_records(conn, [completion.record])
                applied.append(held)
            return applied

        applied = self.database.write(complete, "completing jobs")
        if any(c.retry_at is not None for c in completions):
            self._wrote()
        return applied

    # -- inspection ------------------------------------------------------------------------

    def qsize(self, queue: str | None = None) -> int:
        sql = f"SELECT COUNT(*) FROM {QUEUE} WHERE token IS NULL"
        params: tuple[str, ...] = ()
        if queue is not None:
            sql, params = sql + " AND queue = ?", (queue,)
        return int(self.database.query(sql, params, "counting jobs")[0][0])

    def stats(self) -> QueueStats:
        def count(conn: sqlite3.Connection) -> QueueStats:
            rows = conn.execute(
                f"""SELECT queue, SUM(token IS NULL AND due <= :now), SUM(token IS NULL AND due > :now),
                    SUM(token IS NOT NULL) FROM {QUEUE} GROUP BY queue""",
                {"now": time.time()},
            ).fetchall()
            quarantined = conn.execute(f"SELECT COUNT(*) FROM {QUARANTINE}").fetchone()[0]
            return QueueStats(
                ready=sum(r[1] for r in rows),
                scheduled=sum(r[2] for r in rows),
                leased=sum(r[3] for r in rows),
                quarantined=quarantined,
                by_queue={str(r[0]): r[1] + r[2] for r in rows if r[1] + r[2]},
            )

        return self.database.read(count, "counting jobs")

    def depths(self, now: float) -> QueueDepths:
        """Jobs per queue and state (``DepthQueue``), from the two partial indexes.

        Ready rows are counted on the claim index alone (queue and due are in it); rows not
        ready yet are found through the waiting index, which also holds leases; rows whose due
        time passed but that no claim promoted yet count as ready.
        """

        def count(conn: sqlite3.Connection) -> QueueDepths:
            ready = conn.execute(
                f"SELECT queue, COUNT(*), MIN(due) FROM {QUEUE} INDEXED BY {CLAIM_INDEX} "
                "WHERE ready = 1 GROUP BY queue"
            ).fetchall()
            waiting = conn.execute(
                f"""SELECT queue, SUM(token IS NULL AND due <= :now), SUM(token IS NULL AND due > :now),
                    SUM(token IS NOT NULL), MIN(CASE WHEN token IS NULL AND due <= :now THEN due END)
                    FROM {QUEUE} INDEXED BY {WAITING_INDEX} WHERE ready = 0 GROUP BY queue""",
                {"now": now},
            ).fetchall()
            quarantined = conn.execute(f"SELECT COUNT(*) FROM {QUARANTINE}").fetchone()[0]
            depth: dict[str, QueueDepth] = {
                str(q): QueueDepth(ready=n, oldest_ready_due=due) for q, n, due in ready
            }
            for q, late, scheduled, leased, late_due in waiting:
                known = depth.get(str(q), QueueDepth())
                dues = [d for d in (known.oldest_ready_due, late_due) if d is not None]
                depth[str(q)] = QueueDepth(known.ready + late, scheduled, leased, min(dues) if dues else None)
            return QueueDepths(by_queue=depth, quarantined=quarantined)

        return self.database.read(count, "counting jobs")

    def quarantined(self, limit: int = 1000) -> list[Quarantined]:
        """The quarantined rows, oldest first (see ``QuarantineListing``)."""
        rows = self.database.query(
            f"SELECT job_id, reason, queue, quarantined_at FROM {QUARANTINE} ORDER BY seq LIMIT ?",
            (limit,),
            "listing quarantined jobs",
        )
        return [
            Quarantined(
                job_id if isinstance(job_id, str) and job_id else None,
                str(reason),
                queue if isinstance(queue, str) else None,
                float(at),
            )
            for job_id, reason, queue, at in rows
        ]

    def clear(self) -> int:
        """Delete every job, leased ones included (quarantined rows stay for inspection)."""
        deleted: int = self.database.write(
            lambda conn: conn.execute(f"DELETE FROM {QUEUE}").rowcount, "clearing the queue"
        )
        return deleted

    def purge(self, queue: str) -> list[str]:
        """Delete the waiting (not leased) jobs of ``queue`` in one transaction; return their ids."""
        rows = self.database.write(
            lambda conn: conn.execute(
                f"DELETE FROM {QUEUE} WHERE queue = ? AND token IS NULL RETURNING id", (queue,)
            ).fetchall(),
            "purging a queue",
        )
        return [str(row[0]) for row in rows]

    # -- worker registry (see WorkerRegistry) ----------------------------------------------

    def beat(self, info: WorkerInfo) -> None:
        self.database.write(
            lambda conn: conn.execute(
                f"INSERT OR REPLACE INTO {WORKERS} (id, info) VALUES (?, ?)",
                (info.id, json.dumps(info.to_dict())),
            ),
            "storing a worker heartbeat",
        )

    def workers(self) -> list[WorkerInfo]:
        found = []
        for (text,) in self.database.query(f"SELECT info FROM {WORKERS} ORDER BY id", (), "listing workers"):
            try:
                found.append(WorkerInfo.from_dict(json.loads(text)))
            except (TypeError, ValueError, CorruptEntry):
                continue
        return found

    def forget_worker(self, worker_id: str) -> bool:
        deleted: int = self.database.write(
            lambda conn: conn.execute(f"DELETE FROM {WORKERS} WHERE id = ?", (worker_id,)).rowcount,
            "removing a worker",
        )
        return deleted > 0

    def plant_corrupt_entry(self, queue: str) -> None:
        """Insert a due row whose payload is text, not bytes (for the conformance suite)."""
        self.database.write(
            lambda conn: conn.execute(
                f"INSERT INTO {QUEUE} (id, queue, priority, ready, due, payload) VALUES (?, ?, 0, 1, 0, ?)",
                (f"corrupt-{uuid.uuid4().hex[:8]}", queue, "this text is not a payload"),
            ),
            "planting a corrupt row",
        )

    def close(self) -> None:
        self._watch.close()
        self.database.close()


def _nack(conn: sqlite3.Connection, lease: Lease, retry_at: float | None) -> bool:
    """Return a held job to the queue; ``False`` when the lease was lost."""
    now = time.time()
    due = now if retry_at is None else retry_at
    params = (int(retry_at is not None), due, int(due <= now), lease.id, lease.token)
    return conn.execute(_NACK, params).rowcount > 0


_COLUMNS = ("seq", "id", "queue", "priority", "eta", "attempts", "deliveries", "payload")


def _envelope(row: tuple[Any, ...]) -> Envelope:
    """The envelope of a leased row.

    Raises:
        CorruptEntry: naming the first column that does not hold what it must.
    """
    seq, job_id, queue, priority, eta, attempts, _, payload = row
    column = _bad_column(job_id, queue, priority, eta, attempts, payload)
    if column is not None:
        value = row[_COLUMNS.index(column)]
        raise CorruptEntry(f"queue row {seq}: column {column} holds {type(value).__name__} {value!r:.40}")
    return Envelope(stored_id(job_id, f"queue row {seq}"), queue, payload, priority, eta, attempts)


def _bad_column(job_id: Any, queue: Any, priority: Any, eta: Any, attempts: Any, payload: Any) -> str | None:
    """The first column whose value is not what an envelope needs, or ``None``."""
    if type(job_id) is not str:
        return "id"
    if type(queue) is not str:
        return "queue"
    if type(priority) is not int or not 0 <= priority <= 9:
        return "priority"
    if eta is not None and type(eta) is not float:
        return "eta"
    if type(attempts) is not int or attempts < 0:
        return "attempts"
    if type(payload) is not bytes:
        return "payload"
    return None


def _quarantine(conn: sqlite3.Connection, seq: int, reason: str, now: float) -> None:
    conn.execute(_QUARANTINE_ROW, (reason, now, seq))
    conn.execute(f"DELETE FROM {QUEUE} WHERE seq = ?", (seq,))
    logger.warning("quarantined queue row %s: %s", seq, reason)
