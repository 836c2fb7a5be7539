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
    P:{Q}:wake                       list a blocked claimer waits on (BLPOP); on a Redis Cluster,
                                     a token the claim leaves when jobs remain (see slots.py)
    P:wake:{P}:Q                     on a Redis Cluster: the list a blocked claimer waits on, all
                                     queues' in one slot, so one BLPOP covers a worker's queues
    P:queues                         set of queue names (for stats and clear only)
    P:workers                        hash worker id -> its description as JSON (heartbeats)

``P:queues`` and ``P:workers`` are read and written by plain one-key commands, never by a script.

Result records (hash tag ``{results}``: a record is saved with its indexes in one script; on a
Redis Cluster the tag is ``{results:<n>}``, ``n`` a hash of the id modulo 16, each partition
with its own indexes, so the records spread over the shards)::

    P:{results}:result:<id>          msgpack of JobRecord.to_dict(), with a TTL
    P:{results}:all                  sorted set of ids by created_at (bounded)
    P:{results}:status:<status>      the same per status (bounded)
    P:{results}:expiry               sorted set of ids by expires_at (ms), for purge_expired
    P:{results}:fence:<id>           on Cluster: the Redis time (µs) of the job's newest claim, which
                                     fences its completion (see slots.py); the record's TTL

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
import zlib
from dataclasses import dataclass, replace

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
    def cluster_wake(self) -> str:
        """On a Redis Cluster, the wake-up list claimers block on: every queue's shares one slot."""
        return f"{self.prefix}:wake:{{{self.prefix}}}:{self.queue}"

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


#: Hash tags the records are spread over on a Redis Cluster (``{results:0}`` .. ``{results:15}``).
#: Fixed: a record's partition is a hash of its id modulo this, so changing it loses records.
CLUSTER_RESULT_PARTITIONS = 16


@dataclass(frozen=True)
class ResultKeys:
    """Keys of the result store, or of one partition of it.

    On one server every record shares the tag ``{results}`` (``partitions`` 1). On a Redis
    Cluster the records are spread over :data:`CLUSTER_RESULT_PARTITIONS` tags
    ``{results:<n>}`` by a hash of the job id, each partition with its own indexes, so that no
    one shard takes every record.
    """

    prefix: str
    partitions: int = 1
    #: Which partition these keys name (0 when ``partitions`` is 1).
    number: int = 0

    @property
    def base(self) -> str:
        """``P:{results}`` (or ``P:{results:<n>}``): what a record key starts with."""
        tag = "results" if self.partitions == 1 else f"results:{self.number}"
        return f"{self.prefix}:{{{tag}}}"

    def partition_of(self, job_id: str) -> ResultKeys:
        """The keys of the partition holding ``job_id``'s record (these keys on one server)."""
        if self.partitions == 1:
            return self
        return replace(self, number=zlib.crc32(job_id.encode()) % self.partitions)

    def every_partition(self) -> list[ResultKeys]:
        """The keys of each partition."""
        return [replace(self, number=n) for n in range(self.partitions)]

    def record(self, job_id: str) -> str:
        return f"{self.partition_of(job_id).base}:result:{job_id}"

    def fence(self, job_id: str) -> str:
        """The Redis time of the job's newest claim, on Cluster (see ``slots.py``)."""
        return f"{self.partition_of(job_id).base}:fence:{job_id}"

    @property
    def everything(self) -> str:
        """This partition's index of all records."""
        return f"{self.base}:all"

    @property
    def expiry(self) -> str:
        return f"{self.base}:expiry"

    def status(self, status: JobStatus) -> str:
        return f"{self.base}:status:{status.value}"

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
