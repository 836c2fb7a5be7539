"""Table and index names, and the schema every connection makes sure of (idempotent DDL).

The queue keeps one row per job. ``ready`` is 1 when the job is claimable now, 0 while it waits
for its due time (an eta or a retry time) or is leased (then ``due`` is the lease's expiry). A
claim first flips rows whose ``due`` has passed to ready (a range scan of a small partial index),
then reads the most urgent ready rows through the claim index, so a claim costs O(log n) on any
backlog. A leased row keeps its ``token`` after its lease lapses until it is claimed again, so a
late ``ack`` of a lapsed lease that nobody took over still counts.

The scheduler store keeps one row per schedule: the whole record as msgpack, with ``next_run``
and ``claimed_until`` also as columns (the columns are the truth: a claim changes only
``claimed_until``). Unreadable schedule rows move to their own quarantine table.
"""

from __future__ import annotations

from typing import Final

QUEUE: Final = "nuvom_queue"
QUARANTINE: Final = "nuvom_quarantine"
RESULTS: Final = "nuvom_results"
SCHEDULES: Final = "nuvom_schedules"
SCHEDULES_QUARANTINE: Final = "nuvom_schedules_quarantine"
#: The worker registry: one row per worker, its description as JSON.
WORKERS: Final = "nuvom_workers"
#: Flow control: granted starts per limit key (the rate window), and concurrency slot leases.
LIMIT_STARTS: Final = "nuvom_limit_starts"
LIMIT_SLOTS: Final = "nuvom_limit_slots"
#: Ready jobs by queue, priority, due time and sequence: the claim reads it in order.
CLAIM_INDEX: Final = "nuvom_queue_claim"
#: Jobs not ready yet (scheduled or leased) by due time: what the next claim must promote.
WAITING_INDEX: Final = "nuvom_queue_waiting"

#: Bumped when the layout changes incompatibly; stored in ``PRAGMA user_version``. Added tables
#: (like the schedules') are created by the idempotent DDL and need no bump.
VERSION: Final = 1

DDL: Final = f"""
CREATE TABLE IF NOT EXISTS {QUEUE} (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    queue TEXT NOT NULL,
    priority INTEGER NOT NULL,
    eta REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    deliveries INTEGER NOT NULL DEFAULT 0,
    ready INTEGER NOT NULL,
    due REAL NOT NULL,
    token TEXT,
    payload BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS nuvom_queue_id ON {QUEUE} (id);
CREATE INDEX IF NOT EXISTS {CLAIM_INDEX} ON {QUEUE} (queue, priority, due, seq) WHERE ready = 1;
CREATE INDEX IF NOT EXISTS {WAITING_INDEX} ON {QUEUE} (due) WHERE ready = 0;

CREATE TABLE IF NOT EXISTS {QUARANTINE} (
    seq INTEGER PRIMARY KEY,
    job_id,
    queue,
    payload,
    reason TEXT NOT NULL,
    quarantined_at REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS {RESULTS} (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL,
    record BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS nuvom_results_created ON {RESULTS} (created_at);
CREATE INDEX IF NOT EXISTS nuvom_results_status ON {RESULTS} (status, created_at);
CREATE INDEX IF NOT EXISTS nuvom_results_expiry ON {RESULTS} (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS {SCHEDULES} (
    id TEXT PRIMARY KEY,
    next_run REAL NOT NULL,
    claimed_until REAL,
    record BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS nuvom_schedules_next_run ON {SCHEDULES} (next_run, id);

CREATE TABLE IF NOT EXISTS {WORKERS} (
    id TEXT PRIMARY KEY,
    info TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS {LIMIT_STARTS} (
    key TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS nuvom_limit_starts_key ON {LIMIT_STARTS} (key, at);

CREATE TABLE IF NOT EXISTS {LIMIT_SLOTS} (
    key TEXT NOT NULL,
    holder TEXT NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (key, holder)
);

CREATE TABLE IF NOT EXISTS {SCHEDULES_QUARANTINE} (
    seq INTEGER PRIMARY KEY,
    schedule_id TEXT NOT NULL,
    record,
    reason TEXT NOT NULL,
    quarantined_at REAL NOT NULL
);
"""
