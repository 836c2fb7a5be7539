"""The Redis queue: a few sorted sets per queue, moved and claimed by atomic Lua scripts.

Each queue keeps due jobs in one sorted set ordered by priority then due time, future jobs in a
due set, and claimed jobs in a lease set (score: lease expiry, by Redis's clock). The claim
script moves due jobs and lapsed leases back to ready when the head of their set is due, then
pops the heads. A claimer with nothing to do blocks in BLPOP on the queues' wake-up lists until
a job arrives or the next due time or lease expiry comes, with the next claim sent in the same
round trip. See ``keys.py`` for the layout and docs/backends/redis.md for the design and its
measurements.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import redis
from redis.exceptions import NoScriptError

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
from nuvom.config import Settings
from nuvom.errors import CorruptEntry, WriteNotConfirmed
from nuvom.record import JobRecord

from .claim_reply import read_claim
from .client import Connection, Outage, drop_keys, text
from .keys import PRIORITIES, PRIORITY_SPAN, QueueKeys, ResultKeys, queues_key, workers_key
from .limits import RedisLimiter
from .results import RedisResults
from .scripts import Scripts
from .sending import Sender
from .settings import RedisSettings
from .slots import SlotPaths

logger = logging.getLogger(__name__)


class RedisQueue(BaseQueue):
    """A queue with leases on Redis, shared by any number of processes and hosts."""

    name: ClassVar[str] = "redis"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.CROSS_PROCESS, Capability.PERSISTENT, Capability.QUARANTINE, Capability.EXACT_ORDER}
    )

    def __init__(
        self, connection: Connection, *, prefix: str = "nuvom", records_prefix: str | None = None
    ) -> None:
        """A queue on ``connection`` under ``prefix``.

        ``records_prefix`` names the result store whose records each claim also reads into
        :attr:`Lease.record`, sparing the worker a round trip; ``None`` reads none.
        """
        self.connection = connection
        self.prefix = prefix
        # On a Redis Cluster a claim cannot read a record (another slot): it records the claim there.
        self._slots = SlotPaths(self, records_prefix) if connection.is_cluster else None
        self._records = ResultKeys(records_prefix) if self._slots is None and records_prefix else None
        self._redis = connection.client
        # "save" too: enqueue_recorded sends the result store's saves in the queue's pipelines.
        self._scripts = Scripts(
            connection,
            "enqueue",
            "send",
            "send_many",
            "claim",
            "ack",
            "nack",
            "extend",
            "complete",
            "save",
            "purge",
            "defer",
            "withdraw",
        )
        self._sender = Sender(connection, self._scripts, self._script_keys, prefix)
        self._outage = Outage(connection.url)
        self._key_lists: dict[str, list[str]] = {}
        #: Why the claim script skips queues (a key of the wrong type), as last reported.
        self._broken: frozenset[str] = frozenset()
        # A blocking wait must end before the socket timeout does.
        self._max_block = max(0.1, connection.socket_timeout - 1.0)

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisQueue:
        """The queue at ``NUVOM_REDIS_URL``, with the plugin's ``NUVOM_REDIS_*`` settings."""
        own = RedisSettings.load()
        # Records are read with claims only for the worker's result store: the Redis one, here.
        records = own.key_prefix if settings.result_backend == RedisResults.name else None
        return cls(Connection(own.redis_url, own), prefix=own.key_prefix, records_prefix=records)

    def keys(self, queue: str) -> QueueKeys:
        """The keys of ``queue``."""
        return QueueKeys(self.prefix, queue)

    def _script_keys(self, queue: str) -> list[str]:
        """The keys a script takes for ``queue`` (cached: built on every call otherwise)."""
        keys = self._key_lists.get(queue)
        if keys is None:
            keys = self._key_lists[queue] = self.keys(queue).script_keys
        return keys

    # -- enqueue ---------------------------------------------------------------------------

    def enqueue(self, envelope: Envelope) -> None:
        self.enqueue_many([envelope])

    def enqueue_many(self, envelopes: Sequence[Envelope]) -> None:
        """Store jobs in one pipelined round trip; a job id already queued is left as it is."""
        self._sender.send(envelopes, [], None)
        self._woken({env.queue for env in envelopes})

    def enqueue_recorded(
        self, envelopes: Sequence[Envelope], records: Sequence[JobRecord], results: ResultBackend
    ) -> bool:
        """Save the queued records and enqueue their jobs in one pipeline (records first).

        Only for a :class:`RedisResults` on the same server and database; ``False`` otherwise.
        """
        if not isinstance(results, RedisResults) or results.connection.server != self.connection.server:
            return False
        if self._slots is not None:
            return False  # records and jobs are in different slots: the sender stores, then enqueues
        self._sender.send(envelopes, records, results)
        return True

    # -- claim -----------------------------------------------------------------------------

    def pop_batch(self, n: int, *, queues: Sequence[str], timeout: float, lease_secs: float) -> list[Lease]:
        """Claim up to ``n`` jobs, blocking server-side (BLPOP) up to ``timeout`` for the first.

        While Redis cannot be reached, this logs a warning, waits with exponential backoff
        (up to 2 s) and returns no jobs, so a worker keeps trying until Redis is back.
        """
        if self._slots is not None:
            return self._slots.pop_batch(n, queues=queues, timeout=timeout, lease_secs=lease_secs)
        deadline = time.monotonic() + timeout
        wake = [self.keys(q).wake for q in queues]
        block = 0.0
        while True:
            try:
                leases, wait = self._claim(n, queues, lease_secs, wake, block)
                left = deadline - time.monotonic()
                block = min(left, self._max_block, left if wait is None else wait + 0.001)
            except redis.AuthenticationError as exc:
                with self.connection.errors("claiming jobs"):
                    raise exc
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                time.sleep(self._outage.failed(exc, time.monotonic()))
                return []
            self._outage.succeeded(time.monotonic())
            if leases or left <= 0:
                return leases

    def _claim(
        self, n: int, queues: Sequence[str], lease_secs: float, wake: list[str], block: float
    ) -> tuple[list[Lease], float | None]:
        """One run of the claim script: the leases, and seconds until the next due job or expiry.

        With ``block`` of 1 ms or more, it first blocks that long in BLPOP on ``wake``, sent in
        the same round trip: Redis runs the claim once the BLPOP returns.
        """
        keys, args = self._claim_call(n, queues, lease_secs)
        wake = self._waitable(wake)
        if block < 0.001 or not wake:
            if block >= 0.001:  # every wake-up list is of another type (reported): no BLPOP to wait in
                time.sleep(block)
            reply = self._scripts.run("claim", keys, args)
        else:
            pipe = self._redis.pipeline(transaction=False)
            pipe.blpop(wake, timeout=block)
            self._scripts.add(pipe, "claim", keys, args)
            # A BLPOP failing (a wake-up list turned to another type since the last claim) ends the
            # wait; the claim after it still runs, and reports the key.
            reply = pipe.execute(raise_on_error=False)[1]
            if isinstance(reply, NoScriptError):  # claim without the wait once the script is loaded
                reply = self._scripts.run("claim", keys, args)
            elif isinstance(reply, Exception):
                raise reply
        return self._leases(reply, queues)

    def _waitable(self, wake: list[str]) -> list[str]:
        """The wake-up lists of ``wake`` a BLPOP can wait on: not those the claim reported mistyped."""
        if not self._broken:
            return wake
        return [key for key in wake if not any(why.startswith(f"{key} ") for why in self._broken)]

    def _claim_call(self, n: int, queues: Sequence[str], lease_secs: float) -> tuple[list[str], list[Any]]:
        """The claim script's keys and arguments for up to ``n`` jobs of ``queues``."""
        keys = [key for queue in queues for key in self._script_keys(queue)]
        records = "" if self._records is None else self._records.base
        return keys, [n, round(lease_secs * 1e6), uuid.uuid4().hex, records]

    def _leases(self, reply: list[Any], queues: Sequence[str]) -> tuple[list[Lease], float | None]:
        """The leases in the claim script's ``reply`` over ``queues``; seconds until the next due."""
        leases, wait, broken = read_claim(reply, queues)
        self._report_broken(broken)
        return leases, wait

    def _report_broken(self, broken: frozenset[str]) -> None:
        """Warn once when a queue starts or stops being skipped for a key of the wrong type."""
        if broken == self._broken:
            return
        for why in sorted(broken - self._broken):
            logger.warning(
                "Redis at %s: a queue is skipped until this key is repaired: %s", self.connection.url, why
            )
        for why in sorted(self._broken - broken):
            logger.warning("Redis at %s: no queue is skipped any more for: %s", self.connection.url, why)
        self._broken = broken

    # -- settle ----------------------------------------------------------------------------

    def ack(self, lease: Lease) -> None:
        with self.connection.errors(f"acking job {lease.id}"):
            self._scripts.run("ack", self._script_keys(lease.envelope.queue), [lease.id, lease.token])

    def nack(self, lease: Lease, *, retry_at: float | None = None) -> None:
        retry = "" if retry_at is None else repr(float(retry_at))
        with self.connection.errors(f"returning job {lease.id}"):
            self._scripts.run("nack", self._script_keys(lease.envelope.queue), [lease.id, lease.token, retry])
        self._woken([lease.envelope.queue])

    def defer(self, lease: Lease, until: float) -> None:
        """Return the held job, due at ``until``, with its attempts unchanged."""
        with self.connection.errors(f"deferring job {lease.id}"):
            args = [lease.id, lease.token, repr(float(until))]
            self._scripts.run("defer", self._script_keys(lease.envelope.queue), args)
        self._woken([lease.envelope.queue])

    def _woken(self, queues: Iterable[str]) -> None:
        """On a Redis Cluster, wake the claimers of ``queues`` (on one server, the script did)."""
        if self._slots is not None:
            self._slots.wake(queues)

    def limiter(self) -> RedisLimiter:
        """Counters on this queue's server, under its key prefix."""
        return RedisLimiter(self.connection, self.prefix)

    def extend(self, lease: Lease, lease_secs: float) -> bool:
        with self.connection.errors(f"extending the lease of job {lease.id}"):
            args = [lease.id, lease.token, round(lease_secs * 1e6)]
            expires = self._scripts.run("extend", self._script_keys(lease.envelope.queue), args)
        if expires is None:
            return False
        lease.expires_at = int(expires) / 1e6
        return True

    def complete_many(self, completions: Sequence[Completion], results: ResultBackend) -> list[bool] | None:
        """Store each record and ack or nack its job, all in one script call.

        Only for a :class:`RedisResults` on the same server and database; ``None`` otherwise.
        On a Redis Cluster, in two fenced steps (see ``slots.py``).

        Raises:
            WriteNotConfirmed: too few replicas acknowledged the step; its ``result`` holds the
                flags, as the outcomes are stored (and their jobs settled) on the master.
        """
        if self._slots is not None:
            return self._slots.complete_many(completions, results)
        if not isinstance(results, RedisResults) or results.connection.server != self.connection.server:
            return None
        if not completions:
            return []

        keys, args = list(results.keys.indexes), []
        for c in completions:
            keys += [*self._script_keys(c.lease.envelope.queue), results.keys.record(c.record.id)]
            retry = "" if c.retry_at is None else repr(float(c.retry_at))
            args += [c.lease.id, c.lease.token, retry, *results.record_args(c.record)]
        try:
            with self.connection.errors(f"completing {len(completions)} job(s)"):
                return [bool(applied) for applied in self._scripts.run("complete", keys, args)]
        except WriteNotConfirmed as unconfirmed:  # stored on the master: say which outcomes were
            applied = (
                [bool(flag) for flag in unconfirmed.result] if isinstance(unconfirmed.result, list) else None
            )
            raise WriteNotConfirmed(str(unconfirmed), result=applied) from None

    # -- counting --------------------------------------------------------------------------

    def _queues(self, queue: str | None) -> list[str]:
        if queue is not None:
            return [queue]
        return sorted(text(name) for name in self._redis.smembers(queues_key(self.prefix)))

    def _counts(self, queues: list[str]) -> list[tuple[int, int, int, int]]:
        """Per queue: ready, scheduled, leased and quarantined entries."""
        pipe = self._redis.pipeline(transaction=False)
        for queue in queues:
            keys = self.keys(queue)
            for key in (keys.ready, keys.due, keys.leased):
                pipe.zcard(key)
            pipe.hlen(keys.quarantine)
        replies = pipe.execute()
        return [(r[0], r[1], r[2], r[3]) for r in (replies[i : i + 4] for i in range(0, len(replies), 4))]

    def qsize(self, queue: str | None = None) -> int:
        with self.connection.errors("counting jobs"):
            return sum(ready + scheduled for ready, scheduled, _, _ in self._counts(self._queues(queue)))

    def stats(self) -> QueueStats:
        with self.connection.errors("counting jobs"):
            queues = self._queues(None)
            counts = self._counts(queues)
        by_queue = {q: c[0] + c[1] for q, c in zip(queues, counts, strict=True) if c[0] + c[1]}
        return QueueStats(
            ready=sum(c[0] for c in counts),
            scheduled=sum(c[1] for c in counts),
            leased=sum(c[2] for c in counts),
            quarantined=sum(c[3] for c in counts),
            by_queue=by_queue,
        )

    def depths(self, now: float) -> QueueDepths:
        """Jobs per queue and state (``DepthQueue``), in one pipeline for all queues.

        ``ZCARD``, ``ZCOUNT`` and the first member of each sorted set: O(log n) per key.
        """
        now_us = int(now * 1_000_000)
        with self.connection.errors("counting jobs"):
            queues = self._queues(None)
            pipe = self._redis.pipeline(transaction=False)
            for queue in queues:
                keys = self.keys(queue)
                pipe.zcard(keys.ready)
                for p in PRIORITIES:  # the first of each priority: the oldest is any of them
                    span = f"({(p + 1) * PRIORITY_SPAN}"
                    pipe.zrangebyscore(keys.ready, p * PRIORITY_SPAN, span, start=0, num=1, withscores=True)
                pipe.zcount(keys.due, "-inf", now_us)  # due, not promoted to ready yet
                pipe.zcard(keys.due)
                pipe.zrange(keys.due, 0, 0, withscores=True)
                pipe.zcard(keys.leased)
                pipe.hlen(keys.quarantine)
            replies = pipe.execute()
        by_queue: dict[str, QueueDepth] = {}
        quarantined = 0
        width = len(PRIORITIES) + 6
        for index, queue in enumerate(queues):
            part = replies[index * width : (index + 1) * width]
            ready, heads, (late, due_total, first_due, leased, corrupt) = part[0], part[1:-5], part[-5:]
            # ready scores hold milliseconds past the priority's span; due scores microseconds
            firsts = [(r[0][1] - p * PRIORITY_SPAN) * 1000 for p, r in enumerate(heads) if r]
            firsts += [first_due[0][1]] if late else []
            ready += late
            quarantined += corrupt
            if ready or due_total or leased:
                oldest = min(firsts) / 1_000_000 if ready else None
                by_queue[queue] = QueueDepth(ready, due_total - late, leased, oldest)
        return QueueDepths(by_queue=by_queue, quarantined=quarantined)

    def quarantined(self, limit: int = 1000) -> list[Quarantined]:
        """The quarantined entries of every queue (see ``QuarantineListing``); Redis keeps no time."""
        listed: list[Quarantined] = []
        with self.connection.errors("listing quarantined jobs"):
            for queue in self._queues(None):
                for job_id, reason in self._redis.hscan_iter(self.keys(queue).quarantine):
                    if len(listed) >= limit:
                        return listed
                    listed.append(Quarantined(text(job_id) or None, text(reason), queue))
        return listed

    def clear(self) -> int:
        """Delete every job (and quarantined entry) of every queue, each queue in one transaction."""
        deleted = 0
        with self.connection.errors("clearing the queues"):
            for queue in self._queues(None):
                keys = self.keys(queue)
                pipe = self._redis.pipeline(transaction=True)
                pipe.hlen(keys.meta)
                pipe.delete(*keys.all)
                deleted += pipe.execute()[0]
        return deleted

    def purge(self, queue: str) -> list[str]:
        """Delete the waiting jobs of ``queue`` in one script (it blocks Redis while it runs)."""
        with self.connection.errors("purging a queue"):
            ids = self._scripts.run("purge", self._script_keys(queue), [])
        return [text(job_id) for job_id in ids]

    # -- worker registry (see WorkerRegistry) ----------------------------------------------

    def beat(self, info: WorkerInfo) -> None:
        with self.connection.errors("storing a worker heartbeat"):
            self._redis.hset(workers_key(self.prefix), info.id, json.dumps(info.to_dict()))

    def workers(self) -> list[WorkerInfo]:
        with self.connection.errors("listing workers"):
            stored = self._redis.hgetall(workers_key(self.prefix))
        found = []
        for data in stored.values():
            try:
                found.append(WorkerInfo.from_dict(json.loads(data)))
            except (TypeError, ValueError, CorruptEntry):
                continue
        return sorted(found, key=lambda w: w.id)

    def forget_worker(self, worker_id: str) -> bool:
        with self.connection.errors("removing a worker"):
            return bool(self._redis.hdel(workers_key(self.prefix), worker_id))

    def plant_corrupt_entry(self, queue: str) -> None:
        """For the conformance suite: a ready entry of priority 0 whose metadata is garbage."""
        keys = self.keys(queue)
        job_id = f"corrupt-{os.urandom(4).hex()}"
        pipe = self._redis.pipeline(transaction=False)  # two slots on a Redis Cluster
        pipe.sadd(queues_key(self.prefix), queue)
        pipe.hset(keys.meta, job_id, b"\xc1\xc1 not queue metadata")
        pipe.zadd(keys.ready, {f"0{0:016x}{job_id}": 1})
        pipe.execute()

    def drop_namespace(self) -> int:
        """Delete every key under this store's prefix (the conformance suite's namespace)."""
        return drop_keys(self.connection, self.prefix)

    def close(self) -> None:
        self.connection.close()
