"""The Redis result store: one msgpack string per job record, with a TTL, and sorted-set indexes.

A finished record lives ``result_ttl_secs`` (the task's ``expires_at``) or, without one, the
plugin's ``NUVOM_REDIS_RESULT_TTL_SECS`` (7 days); records of unfinished jobs have no TTL. The
indexes behind ``list_jobs`` (all records, and one per status, by ``created_at``) are bounded;
entries whose record expired are dropped when a listing or ``purge_expired`` meets them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from redis.client import Pipeline

from nuvom import serialization
from nuvom.backends import BaseResults, Capability
from nuvom.backends.base import is_expired
from nuvom.config import Settings
from nuvom.errors import CorruptEntry, SerializationError
from nuvom.record import JobRecord, JobStatus

from .client import Connection, drop_keys, text
from .keys import CLUSTER_RESULT_PARTITIONS, STATUSES, ResultKeys
from .scripts import Scripts
from .settings import DEFAULT_RESULT_TTL_SECS, RedisSettings

#: Records per save script call.
_SAVE_CHUNK = 1_000
#: Index entries checked per round trip by ``purge_expired``.
_SWEEP_CHUNK = 1_000


def decode_record(job_id: str, blob: Any) -> JobRecord:
    """The record stored as ``blob``.

    Raises:
        CorruptEntry: it cannot be decoded, naming the job.
    """
    try:
        return JobRecord.from_dict(serialization.loads(blob))
    except (SerializationError, CorruptEntry, AttributeError) as exc:
        raise CorruptEntry(f"result record {job_id!r} cannot be decoded: {exc}") from None


def claimed_record(job_id: str, blob: Any) -> JobRecord | None:
    """The record a claim read, for :attr:`Lease.record`; ``None`` when expired or undecodable.

    ``None`` makes the worker read the record again, through :meth:`RedisResults.get_full`,
    which reports a corrupt record as such.
    """
    try:
        record = decode_record(job_id, blob)
    except CorruptEntry:
        return None
    return None if is_expired(record) else record


class RedisResults(BaseResults):
    """Job records on Redis, shared by any number of processes and hosts."""

    name: ClassVar[str] = "redis"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.CROSS_PROCESS, Capability.PERSISTENT}
    )

    def __init__(
        self,
        connection: Connection,
        *,
        prefix: str = "nuvom",
        ttl_secs: float = DEFAULT_RESULT_TTL_SECS,
        index_size: int = 100_000,
    ) -> None:
        self.connection = connection
        self.keys = ResultKeys(prefix, CLUSTER_RESULT_PARTITIONS if connection.is_cluster else 1)
        self.ttl_secs = ttl_secs
        self.index_size = index_size
        self._redis = connection.client
        self._scripts = Scripts(connection, "save", "save_new")

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisResults:
        """The store at ``NUVOM_REDIS_URL``, with the plugin's ``NUVOM_REDIS_*`` settings."""
        own = RedisSettings.load()
        return cls(
            Connection(own.redis_url, own),
            prefix=own.key_prefix,
            ttl_secs=own.redis_result_ttl_secs,
            index_size=own.redis_index_size,
        )

    def record_args(self, record: JobRecord) -> list[Any]:
        """The arguments of the Lua ``save_record`` for ``record``."""
        blob = serialization.dumps(record.to_dict(), path="record")
        expires = "" if record.expires_at is None else str(max(1, math.ceil(record.expires_at * 1000)))
        default_ttl = record.expires_at is None and record.status.is_terminal
        ttl = str(max(1, round(self.ttl_secs * 1000))) if default_ttl else ""
        status = STATUSES.index(record.status) + 1
        return [record.id, blob, repr(record.created_at), status, expires, ttl, self.index_size]

    def save(self, record: JobRecord, *, durable: bool = True) -> None:
        self.save_many([record], durable=durable)

    def save_many(self, records: Sequence[JobRecord], *, durable: bool = True) -> None:
        """Store records in one pipelined round trip.

        Durability is Redis's persistence setting; with ``NUVOM_REDIS_WAIT_REPLICAS``, a
        ``durable`` save also waits for the replicas.
        """
        if not records:
            return

        with self.connection.errors(f"storing {len(records)} job record(s)"):
            self._scripts.pipeline(lambda pipe: self.add_saves(pipe, records), durable=durable)

    def save_new(self, record: JobRecord, *, durable: bool = True) -> bool:
        """Store ``record`` only if no record holds its id, in one script; ``True`` if stored."""
        keys = [*self.keys.partition_of(record.id).indexes, self.keys.record(record.id)]
        with self.connection.errors(f"storing job record {record.id}"):
            return bool(self._scripts.run("save_new", keys, self.record_args(record)))

    def add_saves(self, pipe: Pipeline, records: Sequence[JobRecord]) -> None:
        """Queue the saves of ``records`` on ``pipe``, in scripts of up to 1,000 records (per partition)."""
        for partition, ids in self.by_partition([r.id for r in records]).items():
            part = [records[i] for i in ids]
            for start in range(0, len(part), _SAVE_CHUNK):
                chunk = part[start : start + _SAVE_CHUNK]
                keys = partition.indexes + [self.keys.record(r.id) for r in chunk]
                self._scripts.add(pipe, "save", keys, [arg for r in chunk for arg in self.record_args(r)])

    def by_partition(self, ids: Sequence[str]) -> dict[ResultKeys, list[int]]:
        """The positions of ``ids`` by the partition of their records (one on one server)."""
        if self.keys.partitions == 1:
            return {self.keys: list(range(len(ids)))}
        found: dict[ResultKeys, list[int]] = {}
        for i, job_id in enumerate(ids):
            found.setdefault(self.keys.partition_of(job_id), []).append(i)
        return found

    def get_full(self, job_id: str) -> JobRecord | None:
        with self.connection.errors(f"reading job {job_id}"):
            blob = self._redis.get(self.keys.record(job_id))
        if blob is None:
            return None
        record = decode_record(job_id, blob)
        return None if is_expired(record) else record

    def list_jobs(self, status: JobStatus | None = None, limit: int = 50, offset: int = 0) -> list[JobRecord]:
        """Newest first from the indexes; entries whose record is gone are dropped on the way.

        On a Redis Cluster the partitions' indexes are merged by ``created_at``.
        """
        if limit <= 0:
            return []
        now = time.time()
        with self.connection.errors("listing jobs"):
            while True:
                ids = self._newest(status, offset + limit)
                if not ids:
                    return []
                blobs = self._read([self.keys.record(i) for i in ids])
                records: list[JobRecord] = []
                gone: list[str] = []
                stale: list[str] = []
                for job_id, blob in zip(ids, blobs, strict=True):
                    record = None if blob is None else decode_record(job_id, blob)
                    if record is None or is_expired(record, now):
                        gone.append(job_id)
                    elif status is not None and record.status is not status:
                        stale.append(job_id)  # of an expired record whose id came back
                    else:
                        records.append(record)
                if not gone and not stale:
                    return records[offset:]
                if gone:
                    self._forget(gone, delete=True)
                if stale:
                    pipe = self._redis.pipeline(transaction=False)
                    for partition, positions in self.by_partition(stale).items():
                        pipe.zrem(partition.index(status), *(stale[i] for i in positions))
                    pipe.execute()

    def _newest(self, status: JobStatus | None, count: int) -> list[str]:
        """The ids of the ``count`` newest records (of ``status``), across the partitions."""
        if self.keys.partitions == 1:
            return [text(i) for i in self._redis.zrevrange(self.keys.index(status), 0, count - 1)]
        pipe = self._redis.pipeline(transaction=False)
        for partition in self.keys.every_partition():
            pipe.zrevrange(partition.index(status), 0, count - 1, withscores=True)
        entries = [(score, member) for reply in pipe.execute() for member, score in reply]
        entries.sort(reverse=True)  # as ZREVRANGE orders one index: by score, then member
        return [text(member) for _, member in entries[:count]]

    def _read(self, keys: list[str]) -> list[Any]:
        """``MGET`` of record keys (one per partition on a Redis Cluster)."""
        if self.keys.partitions == 1:
            return list(self._redis.mget(keys))
        return list(self._redis.mget_nonatomic(keys))  # type: ignore[attr-defined]

    def _forget(self, ids: Sequence[str], *, delete: bool) -> None:
        """Drop ``ids`` from every index (and delete their records and fences when ``delete``)."""
        pipe = self._redis.pipeline(transaction=False)
        for partition, positions in self.by_partition(ids).items():
            members = [ids[i] for i in positions]
            for index in partition.indexes:
                pipe.zrem(index, *members)
        if delete:
            for job_id in ids:  # one key per DEL: a cluster pipeline splits no multi-key command
                pipe.delete(self.keys.record(job_id))
                pipe.delete(self.keys.fence(job_id))
        pipe.execute()

    def delete(self, job_id: str) -> bool:
        with self.connection.errors(f"deleting job {job_id}"):
            existed = bool(self._redis.exists(self.keys.record(job_id)))
            self._forget([job_id], delete=True)
        return existed

    def purge_expired(self, now: float | None = None) -> int:
        """Delete records whose ``expires_at`` is before ``now``; drop index entries of records gone."""
        cutoff = math.floor((now if now is not None else time.time()) * 1000)
        purged = 0
        with self.connection.errors("purging expired records"):
            for partition in self.keys.every_partition():
                ids = [text(i) for i in self._redis.zrangebyscore(partition.expiry, "-inf", cutoff)]
                for start in range(0, len(ids), _SWEEP_CHUNK):
                    chunk = ids[start : start + _SWEEP_CHUNK]
                    purged += self._redis.zrem(partition.expiry, *chunk)
                    self._forget(chunk, delete=True)
                self._sweep_index(partition)
        return purged

    def _sweep_index(self, partition: ResultKeys) -> None:
        """Drop entries of a partition's index of all records whose record Redis has already expired."""
        start = 0
        index = partition.everything
        while ids := [text(i) for i in self._redis.zrange(index, start, start + _SWEEP_CHUNK - 1)]:
            pipe = self._redis.pipeline(transaction=False)
            for job_id in ids:
                pipe.exists(self.keys.record(job_id))
            gone = [job_id for job_id, exists in zip(ids, pipe.execute(), strict=True) if not exists]
            if gone:
                self._forget(gone, delete=False)
            start += len(ids) - len(gone)

    def drop_namespace(self) -> int:
        """Delete every key under this store's prefix (the conformance suite's namespace)."""
        return drop_keys(self.connection, self.keys.prefix)

    def close(self) -> None:
        self.connection.close()
