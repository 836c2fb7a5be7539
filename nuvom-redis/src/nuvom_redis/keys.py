"""Key layout: every key of one queue shares the hash tag ``{<queue>}``.

On Redis Cluster all of a queue's keys live in one slot, so each script touches one slot.

Per queue ``Q`` under the prefix ``P`` (default ``nuvom``)::

    P:{Q}:ready                      due jobs: sorted set, score = priority * 1e13 + due time (ms)
    P:{Q}:due                        future jobs (eta, retry_at): sorted set, score = due time (µs)
    P:{Q}:leased                     claimed jobs: sorted set of ids, score = lease expiry (µs)
    P:{Q}:meta                       hash id -> priority|attempts|deliveries|token|eta
    P:{Q}:payload                    hash id -> payload bytes
    P:{Q}:quarantine                 hash id -> why the entry could not be delivered
    P:{Q}:seq                        counter that orders jobs of equal due time (FIFO)
    P:{Q}:wake                       list a blocked claimer waits on (BLPOP)
    P:queues                         set of queue names (for stats and clear only)
    P:workers                        hash worker id -> its description as JSON (heartbeats)

Result records::

    P:result:<id>                    msgpack of JobRecord.to_dict(), with a TTL
    P:results:all                    sorted set of ids by created_at (bounded)
    P:results:status:<status>        the same per status (bounded)
    P:results:expiry                 sorted set of ids by expires_at (ms), for purge_expired

Schedules (hash tag ``{schedules}``; the names differ from a queue's, so a queue named
``schedules`` keeps its own keys)::

    P:{schedules}:records            hash id -> msgpack of the ScheduleRecord as added
    P:{schedules}:runs               hash id -> next_run|run_count|last_run (floats as repr text)
    P:{schedules}:next               sorted set of ids, score = next_run
    P:{schedules}:claims             sorted set of claimed ids, score = claimed_until
    P:{schedules}:rejected           hash id -> a record that could not be decoded

Flow control, per limit key ``K`` (hash tag: a digest ``D`` of ``K``; each expires on its own)::

    P:limit:{D}:starts               sorted set of granted starts, score = epoch seconds
    P:limit:{D}:slots                sorted set of holder job ids, score = lease expiry
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from nuvom.record import JobStatus

#: Status order of the per-status indexes, as the Lua ``save_record`` expects them.
STATUSES: tuple[JobStatus, ...] = tuple(JobStatus)
PRIORITIES = range(10)
#: The ready set's score of priority p starts at p * PRIORITY_SPAN (then due time in ms; lib.lua).
PRIORITY_SPAN = 10**13


@dataclass(frozen=True)
class QueueKeys:
    """The keys of one queue."""

    prefix: str
    queue: str

    @property
    def base(self) -> str:
        return f"{self.prefix}:{{{self.queue}}}:"

    @property
    def wake(self) -> str:
        return self.base + "wake"

    @property
    def script_keys(self) -> list[str]:
        """What a script is given for the queue: its base name, from which it names the rest."""
        return [self.base]

    @property
    def all(self) -> list[str]:
        """Ready, due, leased, meta, payload, quarantine, seq, wake."""
        names = ["ready", "due", "leased", "meta", "payload", "quarantine", "seq", "wake"]
        return [self.base + name for name in names]

    @property
    def ready(self) -> str:
        return self.base + "ready"

    @property
    def due(self) -> str:
        return self.base + "due"

    @property
    def leased(self) -> str:
        return self.base + "leased"

    @property
    def meta(self) -> str:
        return self.base + "meta"

    @property
    def quarantine(self) -> str:
        return self.base + "quarantine"


def queues_key(prefix: str) -> str:
    """The set of queue names ever enqueued to."""
    return f"{prefix}:queues"


def workers_key(prefix: str) -> str:
    """The worker registry: a hash of worker id -> its description as JSON."""
    return f"{prefix}:workers"


@dataclass(frozen=True)
class ResultKeys:
    """Keys of the result store."""

    prefix: str

    def record(self, job_id: str) -> str:
        return f"{self.prefix}:result:{job_id}"

    @property
    def everything(self) -> str:
        return f"{self.prefix}:results:all"

    @property
    def expiry(self) -> str:
        return f"{self.prefix}:results:expiry"

    def status(self, status: JobStatus) -> str:
        return f"{self.prefix}:results:status:{status.value}"

    def index(self, status: JobStatus | None) -> str:
        """The index of ``status``, or of every record."""
        return self.everything if status is None else self.status(status)

    @functools.cached_property
    def indexes(self) -> list[str]:
        """The 9 index keys the Lua ``save_record`` takes: all, expiry, then one per status."""
        return [self.everything, self.expiry] + [self.status(s) for s in STATUSES]


@dataclass(frozen=True)
class ScheduleKeys:
    """Keys of the scheduler store."""

    prefix: str

    @property
    def base(self) -> str:
        return f"{self.prefix}:{{schedules}}:"

    @property
    def records(self) -> str:
        return self.base + "records"

    @property
    def runs(self) -> str:
        return self.base + "runs"

    @property
    def next(self) -> str:
        return self.base + "next"

    @property
    def claims(self) -> str:
        return self.base + "claims"

    @property
    def rejected(self) -> str:
        return self.base + "rejected"


@dataclass(frozen=True)
class LimitKeys:
    """Keys of one flow-control key (``limit_key`` value, task name...), named by a digest of it.

    Each has its own hash tag, so a limiter script touches one slot of a Redis Cluster.
    """

    prefix: str
    key: str

    @property
    def base(self) -> str:
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:32]
        return f"{self.prefix}:limit:{{{digest}}}:"

    @property
    def starts(self) -> str:
        """Granted starts: sorted set of unique members, score = start time (epoch seconds)."""
        return self.base + "starts"

    @property
    def slots(self) -> str:
        """Concurrency slots: sorted set of holder job ids, score = lease expiry (epoch seconds)."""
        return self.base + "slots"
