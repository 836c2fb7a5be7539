"""The Redis queue's claims and completions on a Redis Cluster, where a script touches one slot.

A worker's queues may hash to different slots, on different shards, and a job's record lives in
the ``{results}`` slot, not its queue's. So, on a cluster:

- a claim first counts, in one pipelined read-only script per slot, what each slot among the
  worker's queues has claimable per priority, then runs the claim script in each slot for its
  share of the best jobs, all in one pipeline (exact for one claimer; between the read and the
  claims another claimer may take jobs, and this batch is then smaller or passes over a higher
  priority once);
- an idle claimer waits in one ``BLPOP`` on its queues' wake-up lists ``P:wake:{P}:Q``, which
  share one slot (less any of another type: ``wake_wait.py``); the client pushes a token there
  after each script that makes a job claimable (a second step: a lost token delays a job until
  the bounded wait ends);
- a claim is recorded in the records' slot: each job's fence key keeps the Redis time of its
  newest claim (by the clock of the queue's shard), and the claimed jobs' records are read in
  the same script (no older claim's completion can store a record after that);
- a completion stores the record first, in the records' slot, unless a newer claim of the job is
  on record, then acks or nacks the job in its queue's slot, while its token still holds the lease.

Store-then-settle keeps at-least-once: a crash in between leaves the job leased, and it is
delivered again. A stale holder (stopped past its lease, then resumed) is refused at the first
step once the new holder's claim is recorded, and at the second in any case; the record it may
have stored before that claim was recorded is overwritten by the new holder's. See
docs/backends/redis.md, Redis Cluster.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis
from redis.client import Pipeline
from redis.crc import key_slot
from redis.exceptions import NoScriptError

from nuvom.backends import Completion, Lease, ResultBackend

from .client import CLUSTER_OUTAGES
from .keys import CLUSTER_RESULT_PARTITIONS, ResultKeys
from .results import RedisResults, claimed_record
from .scripts import Scripts
from .wake_wait import WakeWait

if TYPE_CHECKING:
    from .queue import RedisQueue

logger = logging.getLogger(__name__)


@dataclass
class FencedLease(Lease):
    """A lease claimed on a Redis Cluster, with the claim's time (the fence of its completion)."""

    #: Microseconds of the queue shard's clock when the job was claimed.
    fence: int = 0


class SlotPaths:
    """Claims across the slots of several queues, and fenced completions in two steps."""

    def __init__(self, queue: RedisQueue, records_prefix: str | None) -> None:
        """Paths of ``queue``; ``records_prefix`` names the result store whose fences claims update."""
        self._queue = queue
        self._records = (
            None if records_prefix is None else ResultKeys(records_prefix, CLUSTER_RESULT_PARTITIONS)
        )
        self._redis = queue.connection.client
        names = ("claimable", "claim", "fence", "complete_record", "settle", "wake")
        self._scripts = Scripts(queue.connection, *names)
        self._wait = WakeWait(queue.connection)
        self._groups: dict[tuple[str, ...], list[list[str]]] = {}
        self._turn = 0

    def groups(self, queues: Sequence[str]) -> list[list[str]]:
        """``queues`` grouped by the slot of their keys, in the order given."""
        asked = tuple(queues)
        found = self._groups.get(asked)
        if found is None:
            by_slot: dict[int, list[str]] = {}
            for queue in asked:
                by_slot.setdefault(key_slot(self._queue.keys(queue).base.encode()), []).append(queue)
            found = self._groups[asked] = list(by_slot.values())
        return found

    def wake_lists(self, queues: Iterable[str]) -> list[str]:
        """The wake-up lists claimers of ``queues`` block on, in one slot (``P:wake:{P}:Q``)."""
        return [self._queue.keys(queue).cluster_wake for queue in dict.fromkeys(queues)]

    def wake(self, queues: Iterable[str]) -> None:
        """Wake the claimers of ``queues``, after the script that made their jobs claimable.

        A second step, as the script cannot reach the wake-up lists' slot. A failure is logged,
        not raised: the jobs are stored, and an idle claimer finds them when its bounded wait ends.
        """
        names = sorted(set(queues))
        with self._queue.connection.errors(f"waking the claimers of {', '.join(names)}"):
            try:
                self._scripts.run("wake", self.wake_lists(names), [])
            except (redis.ConnectionError, redis.TimeoutError, *CLUSTER_OUTAGES) as exc:
                logger.warning(
                    "Redis at %s: could not wake the claimers of %s (%s); they look again within %g s",
                    self._queue.connection.url,
                    ", ".join(names),
                    exc,
                    self._queue._max_block,
                )

    def pop_batch(self, n: int, *, queues: Sequence[str], timeout: float, lease_secs: float) -> list[Lease]:
        """Claim up to ``n`` jobs across the queues' slots, waiting up to ``timeout`` for the first.

        An idle claimer waits in one ``BLPOP`` on every queue's wake-up list (all in one slot),
        until a job is sent, the next due time or lease expiry, or the end of its bounded block.
        As on one server, an outage is logged and backed off, and returns no jobs. A claim whose
        recording fails returns none either: those jobs are delivered again when their leases lapse.
        """
        queue = self._queue
        deadline = time.monotonic() + timeout
        groups = self.groups(queues)
        wake = self.wake_lists(queues)
        while True:
            try:
                leases, wait = self._claim(n, groups, lease_secs)
                left = deadline - time.monotonic()
                if not leases and left > 0:
                    block = min(left, queue._max_block, left if wait is None else wait + 0.001)
                    if block >= 0.001:
                        self._wait.block(wake, block)
            except redis.AuthenticationError as exc:
                with queue.connection.errors("claiming jobs"):
                    raise exc
            except (redis.ConnectionError, redis.TimeoutError, *CLUSTER_OUTAGES) as exc:
                time.sleep(queue._outage.failed(exc, time.monotonic()))
                return []
            queue._outage.succeeded(time.monotonic())
            if leases or left <= 0:
                return leases

    def _claim(self, n: int, groups: list[list[str]], lease_secs: float) -> tuple[list[Lease], float | None]:
        """Claim up to ``n`` jobs across ``groups`` by priority, and record the claims.

        With several slots, one pipelined read first counts what each slot has claimable per
        priority, and each slot is asked for its share of the ``n`` best, all in one pipeline.
        As on one server, a claim that leaves jobs behind wakes another claimer of their queues.
        """
        start = self._turn % len(groups)
        self._turn += 1
        turn = groups[start:] + groups[:start]  # equal priorities: each slot first in turn, claim by claim
        if len(turn) == 1:
            quotas, unclaimed, wait = [n], [0], None
        else:
            quotas, unclaimed, wait = self._plan(n, turn)
        claiming = [(group, quota) for group, quota in zip(turn, quotas, strict=True) if quota]
        leases: list[FencedLease] = []
        lease_us = round(lease_secs * 1e6)
        claims = self._claim_slots(claiming, lease_secs)
        if len(turn) == 1 and n and len(claims[0][0]) == n:
            unclaimed = [1]  # a full batch from the only slot: maybe jobs left
        for claimed, until in claims:
            leases += [
                FencedLease(
                    lease.envelope,
                    lease.deliveries,
                    lease.expires_at,
                    lease.token,
                    lease.record,
                    round(lease.expires_at * 1e6) - lease_us,
                )
                for lease in claimed
            ]
            if until is not None:
                wait = until if wait is None else min(wait, until)
        leases.sort(key=lambda lease: lease.envelope.priority)  # stable: each slot's order stays
        wake = self.wake_lists(
            q for group, more in zip(turn, unclaimed, strict=True) if more > 0 for q in group
        )
        if leases and self._records is not None:
            self._fence(leases, self._records, wake)
        elif wake:
            self._scripts.run("wake", wake, [])
        return list[Lease](leases), wait

    def _claim_slots(
        self, claiming: list[tuple[list[str], int]], lease_secs: float
    ) -> list[tuple[list[Lease], float | None]]:
        """Run the claim script in each slot of ``claiming`` (queues, quota), in one pipeline.

        Per slot: the leases, and seconds until its next due job or expiry. A slot whose node
        did not know the script (NOSCRIPT: no claim ran there) is claimed again alone once the
        scripts are loaded.
        """
        calls = [self._queue._claim_call(quota, group, lease_secs) for group, quota in claiming]
        if len(calls) == 1:
            replies = [self._scripts.run("claim", *calls[0])]
        else:
            pipe = self._redis.pipeline(transaction=False)
            for keys, args in calls:
                self._scripts.add(pipe, "claim", keys, args)
            replies = [
                self._scripts.run("claim", keys, args) if isinstance(reply, NoScriptError) else reply
                for (keys, args), reply in zip(calls, pipe.execute(raise_on_error=False), strict=True)
            ]
            for reply in replies:
                if isinstance(reply, Exception):
                    raise reply
        return [
            self._queue._leases(reply, group) for (group, _), reply in zip(claiming, replies, strict=True)
        ]

    def _fence(self, leases: list[FencedLease], records: ResultKeys, wake: list[str]) -> None:
        """Record the claims in their records' partitions, and read the records into the leases.

        ``wake`` (wake-up lists, maybe none) are given a token in the same round trip.
        """
        parts: dict[ResultKeys, list[FencedLease]] = {}
        for lease in leases:
            parts.setdefault(records.partition_of(lease.id), []).append(lease)

        def fill(pipe: Pipeline) -> None:
            for part in parts.values():
                keys = [key for lease in part for key in (records.fence(lease.id), records.record(lease.id))]
                self._scripts.add(pipe, "fence", keys, [lease.fence for lease in part])
            if wake:
                self._scripts.add(pipe, "wake", wake, [])

        replies = self._scripts.pipeline(fill)[: len(parts)]
        for part, blobs in zip(parts.values(), replies, strict=True):
            for lease, blob in zip(part, blobs, strict=True):
                lease.record = claimed_record(lease.id, blob) if blob else None

    def _plan(self, n: int, groups: list[list[str]]) -> tuple[list[int], list[int], float | None]:
        """Jobs to claim from each group for the ``n`` best, jobs each leaves, seconds to the next due."""

        def read(pipe: Pipeline) -> None:
            for group in groups:
                keys = [key for queue in group for key in self._queue._script_keys(queue)]
                self._scripts.add(pipe, "claimable", keys, [])

        replies = self._scripts.pipeline(read)
        waits = [int(reply[0]) for reply in replies if int(reply[0]) >= 0]
        quotas = [0] * len(groups)
        left = n
        for priority in range(1, 11):
            for i, reply in enumerate(replies):
                take = min(left, int(reply[priority]))
                quotas[i] += take
                left -= take
            if not left:
                break
        unclaimed = [sum(map(int, reply[1:])) - quota for reply, quota in zip(replies, quotas, strict=True)]
        return quotas, unclaimed, (min(waits) / 1e6 if waits else None)

    def complete_many(self, completions: Sequence[Completion], results: ResultBackend) -> list[bool] | None:
        """Store each record unless a newer claim is on record, then settle each job stored.

        ``None`` unless ``results`` is the Redis store on this cluster whose fences claims update.
        """
        connection = self._queue.connection
        if (
            not isinstance(results, RedisResults)
            or results.connection.server != connection.server
            or results.keys != self._records
        ):
            return None
        if not completions:
            return []
        parts = results.by_partition([c.record.id for c in completions])

        def store(pipe: Pipeline) -> None:
            for partition, positions in parts.items():
                keys: list[str] = list(partition.indexes)
                args: list[Any] = []
                for c in (completions[i] for i in positions):
                    keys += [results.keys.record(c.record.id), results.keys.fence(c.record.id)]
                    fence = c.lease.fence if isinstance(c.lease, FencedLease) else 0
                    args += [fence, *results.record_args(c.record)]
                self._scripts.add(pipe, "complete_record", keys, args)

        stored = [False] * len(completions)
        with connection.errors(f"storing {len(completions)} outcome(s)"):
            for positions, flags in zip(parts.values(), self._scripts.pipeline(store), strict=True):
                for i, flag in zip(positions, flags, strict=True):
                    stored[i] = bool(flag)

        by_queue: dict[str, list[int]] = {}
        for i, (c, ok) in enumerate(zip(completions, stored, strict=True)):
            if ok:
                by_queue.setdefault(c.lease.envelope.queue, []).append(i)

        def settle(pipe: Pipeline) -> None:
            for queue, positions in by_queue.items():
                settling: list[Any] = []
                for i in positions:
                    lease, retry_at = completions[i].lease, completions[i].retry_at
                    settling += [lease.id, lease.token, "" if retry_at is None else repr(float(retry_at))]
                self._scripts.add(pipe, "settle", self._queue.keys(queue).script_keys, settling)

        if not by_queue:
            return stored
        with connection.errors(f"settling {sum(stored)} job(s)"):
            replies = self._scripts.pipeline(settle)
        settled = [False] * len(completions)
        for positions, flags in zip(by_queue.values(), replies, strict=True):
            for i, flag in zip(positions, flags, strict=True):
                settled[i] = bool(flag)
        retried = [
            c.lease.envelope.queue
            for c, ok in zip(completions, settled, strict=True)
            if ok and c.retry_at is not None
        ]
        if retried:
            self.wake(retried)
        return settled
