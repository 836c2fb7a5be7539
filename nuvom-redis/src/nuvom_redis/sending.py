"""Sending jobs to Redis: a ``.delay()`` in one script, a ``.map()`` in streamed chunks.

A chunk whose script fails writes nothing (each script checks before it writes, and Redis
refuses a script's first write when it is out of memory), but the chunks sent before and after
it ran. The sender then takes their jobs back (``withdraw.lua``), all but those a worker has
claimed meanwhile, so that a failed send leaves nothing queued the send path does not know of.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import redis
from redis.client import Pipeline
from redis.exceptions import ResponseError

from nuvom.backends import Envelope
from nuvom.errors import SendIncomplete
from nuvom.record import JobRecord

from .client import Connection, describe, text
from .keys import queues_key
from .results import RedisResults
from .scripts import Scripts, StreamFailed

logger = logging.getLogger(__name__)

#: Jobs per enqueue script call and per chunk of a streamed send (see ``Scripts.stream``).
ENQUEUE_CHUNK = 1_000


def _enqueue_args(envelopes: Sequence[Envelope]) -> list[Any]:
    """The enqueue script's arguments: per job id, payload, priority, eta text or '', attempts."""
    args: list[Any] = []
    for env in envelopes:
        eta = "" if env.eta is None else repr(float(env.eta))
        args += (env.id, env.payload, env.priority, eta, env.attempts)
    return args


class Sender:
    """Sends jobs (and their queued records) for a :class:`~nuvom_redis.queue.RedisQueue`."""

    def __init__(
        self, connection: Connection, scripts: Scripts, script_keys: Callable[[str], list[str]], prefix: str
    ) -> None:
        self._connection = connection
        self._scripts = scripts
        self._script_keys = script_keys
        self._prefix = prefix
        #: Queues this sender has added to the set of queue names.
        self.registered: set[str] = set()

    def send(
        self, envelopes: Sequence[Envelope], records: Sequence[JobRecord], results: RedisResults | None
    ) -> None:
        """Enqueue jobs, with their records saved first when ``results`` is given.

        Raises:
            SendIncomplete: a chunk failed, and some jobs of the others could not be taken back.
            BackendError: the send failed; nothing of it stays queued.
        """
        if not envelopes:
            return
        for env in envelopes:
            if not 0 <= env.priority <= 9:
                raise ValueError(f"job {env.id!r} has priority {env.priority}; allowed: 0 to 9")
        new_queues = {env.queue for env in envelopes} - self.registered
        doing = f"enqueuing {len(envelopes)} job(s)"
        if len(envelopes) == 1 and not new_queues:
            # the common .delay(): one script call, no pipeline
            keys, args = self._script_keys(envelopes[0].queue), _enqueue_args(envelopes)
            if not records:
                with self._connection.errors(doing):
                    self._scripts.run("enqueue", keys, args)
                return
            if results is not None and len(records) == 1:
                keys = [*keys, *results.keys.indexes, results.keys.record(records[0].id)]
                with self._connection.errors(doing):
                    self._scripts.run("send", keys, [*results.record_args(records[0]), *args])
                return

        # One send_many per queue and chunk when each record is its job's (as the send path
        # gives them); else each chunk's records are saved before its jobs are enqueued.
        paired = results is not None and [r.id for r in records] == [e.id for e in envelopes]
        # Per chunk, its send scripts: their position in the chunk's commands, queue and job ids.
        placed: list[list[tuple[int, str, list[str]]]] = [[] for _ in range(0, len(envelopes), ENQUEUE_CHUNK)]

        def chunk(start: int) -> Callable[[Pipeline], None]:
            def fill(pipe: Pipeline) -> None:
                first = len(pipe)
                scripts = placed[start // ENQUEUE_CHUNK] = []
                if start == 0 and new_queues:
                    pipe.sadd(queues_key(self._prefix), *new_queues)
                stop = start + ENQUEUE_CHUNK
                if results is not None and not paired:
                    results.add_saves(pipe, records[start:stop])
                by_queue: dict[str, list[int]] = {}
                for i in range(start, min(stop, len(envelopes))):
                    by_queue.setdefault(envelopes[i].queue, []).append(i)
                for queue, positions in by_queue.items():
                    queued = [envelopes[i] for i in positions]
                    keys = self._script_keys(queue)
                    scripts.append((len(pipe) - first, queue, [env.id for env in queued]))
                    if results is not None and paired:
                        self._add_send_many(pipe, keys, queued, [records[i] for i in positions], results)
                    else:
                        self._scripts.add(pipe, "enqueue", keys, _enqueue_args(queued))

            return fill

        # Redis runs a chunk while the next is packed.
        with self._connection.errors(doing):
            try:
                self._scripts.stream([chunk(start) for start in range(0, len(envelopes), ENQUEUE_CHUNK)])
            except StreamFailed as failed:
                self._take_back(failed, placed, doing)
        self.registered |= new_queues

    def _take_back(
        self, failed: StreamFailed, placed: list[list[tuple[int, str, list[str]]]], doing: str
    ) -> NoReturn:
        """Withdraw the jobs of the send scripts that ran before or after the one that failed.

        A script that fails writes nothing, so only the others' jobs are queued; those a worker
        has not claimed yet are taken back, in one pipeline.

        Raises:
            SendIncomplete: naming the jobs that stay queued (claimed since, or all of them
                when the withdrawal itself failed).
            StreamFailed: every job queued was taken back.
        """
        ran = [
            (queue, ids, text(reply))
            for scripts, replies in zip(placed, failed.replies, strict=True)
            for index, queue, ids in scripts
            if not isinstance(reply := replies[index], ResponseError)
        ]
        if not ran:
            raise failed

        def fill(pipe: Pipeline) -> None:
            for queue, ids, sent_at in ran:
                self._scripts.add(pipe, "withdraw", self._script_keys(queue), [sent_at, *ids])

        try:
            stay = {text(job_id) for left in self._scripts.pipeline(fill) for job_id in left}
        except redis.RedisError as exc:
            logger.warning(
                "Redis at %s: taking back a failed send's jobs failed: %s",
                self._connection.url,
                describe(exc),
            )
            stay = {job_id for _, ids, _ in ran for job_id in ids}
        if not stay:
            raise failed
        shown = ", ".join(sorted(stay)[:5]) + (", ..." if len(stay) > 5 else "")
        raise SendIncomplete(
            f"Redis at {self._connection.url} failed while {doing}: {failed}; {len(stay)} job(s) of the"
            f" send stay queued and may run (claimed by a worker, or not taken back): {shown}",
            queued=frozenset(stay),
        )

    def _add_send_many(
        self,
        pipe: Pipeline,
        keys: list[str],
        envelopes: list[Envelope],
        records: list[JobRecord],
        results: RedisResults,
    ) -> None:
        """Queue one ``send_many`` call: ``records`` saved, then ``envelopes`` (one queue) enqueued."""
        record_keys = [results.keys.record(record.id) for record in records]
        args: list[Any] = []
        for env, record in zip(envelopes, records, strict=True):
            eta = "" if env.eta is None else repr(float(env.eta))
            args += results.record_args(record)
            args += (env.id, env.payload, env.priority, eta, env.attempts)
        self._scripts.add(pipe, "send_many", [*keys, *results.keys.indexes, *record_keys], args)
