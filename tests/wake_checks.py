"""Checks shared by the file and SQLite queues: an idle claimer wakes for jobs other processes enqueue.

Each backend's test module passes an ``open_queue(path, watch)`` function (module-level, so the
producer processes can import it) and patches its backend's slow paths (safety poll, sweep) to
30 s: a claimer that misses a wake-up then overruns the 10–20 s deadlines, which a claimer woken
by the change meets with seconds to spare on a loaded machine.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from pathlib import Path

from nuvom.backends import BaseQueue, Envelope, Lease

#: Longer than any deadline below: a wait this long means a wake-up was missed.
SLOW_SECS = 30.0
OpenQueue = Callable[[Path, bool], BaseQueue]
_SPAWN = multiprocessing.get_context("spawn")  # a fresh process, as a producer on the host would be


def produce(open_queue: OpenQueue, path: Path, prefix: str, count: int, priority: int) -> None:
    """Enqueue ``count`` jobs one by one from this (child) process."""
    queue = open_queue(path, False)
    try:
        for index in range(count):
            queue.enqueue(Envelope(f"{prefix}-{index}", "default", b"x", priority))
    finally:
        queue.close()


def start_producer(open_queue: OpenQueue, path: Path, prefix: str, count: int, priority: int = 0) -> object:
    process = _SPAWN.Process(target=produce, args=(open_queue, path, prefix, count, priority))
    process.start()
    return process


def claim_in_thread(queue: BaseQueue, n: int = 1) -> tuple[threading.Thread, list[Lease]]:
    """A thread blocked in one ``pop_batch`` of up to ``SLOW_SECS``; its leases land in the list."""
    leases: list[Lease] = []
    thread = threading.Thread(
        target=lambda: leases.extend(
            queue.pop_batch(n, queues=("default",), timeout=SLOW_SECS, lease_secs=60.0)
        ),
        daemon=True,
    )
    thread.start()
    return thread, leases


def check_wakes_for_another_process(open_queue: OpenQueue, path: Path, *, watch: bool) -> None:
    """A claimer idle on an empty queue gets the job another process enqueues, well within 10 s."""
    # Given: a claimer waiting on an empty queue (the producer's start-up, a fresh interpreter,
    # gives it time to block; had it not, it finds the job by its first claim, also in time)
    queue = open_queue(path, watch)
    try:
        thread, leases = claim_in_thread(queue)

        # When
        producer = start_producer(open_queue, path, "remote", 1)

        # Then
        thread.join(10.0)
        assert not thread.is_alive(), "the claimer was not woken by the job another process enqueued"
        assert [lease.id for lease in leases] == ["remote-0"]
        producer.join(10.0)  # type: ignore[attr-defined]
    finally:
        queue.close()


def check_no_wake_up_is_lost(open_queue: OpenQueue, path: Path) -> None:
    """Three processes enqueue at once (each in a priority of its own, so folders appear meanwhile);
    three claimers, two sharing one queue instance, get every job, then one stop job each."""
    producers, per_producer = 3, 40
    shared, own = open_queue(path, True), open_queue(path, True)
    claimed: list[str] = []
    lock = threading.Lock()

    def claimer(queue: BaseQueue) -> None:
        while True:
            for lease in queue.pop_batch(1, queues=("default",), timeout=SLOW_SECS, lease_secs=60.0):
                queue.ack(lease)
                with lock:
                    claimed.append(lease.id)
                if lease.id.startswith("stop"):
                    return

    try:
        # Given
        threads = [threading.Thread(target=claimer, args=(q,), daemon=True) for q in (shared, shared, own)]
        for thread in threads:
            thread.start()

        # When
        started = [
            start_producer(open_queue, path, f"p{i}", per_producer, priority=i + 1) for i in range(producers)
        ]
        deadline = time.monotonic() + 20.0
        while len(claimed) < producers * per_producer and time.monotonic() < deadline:
            time.sleep(0.01)
        jobs = len(claimed)
        for index in range(len(threads)):
            shared.enqueue(Envelope(f"stop-{index}", "default", b"x", 9))
        for thread in threads:
            thread.join(max(0.1, deadline + 10.0 - time.monotonic()))

        # Then
        assert jobs == producers * per_producer, f"{jobs} of {producers * per_producer} jobs claimed in 20 s"
        assert not any(thread.is_alive() for thread in threads), (
            "a claimer missed the wake-up of its stop job"
        )
        assert sorted(claimed) == sorted(
            [f"p{i}-{j}" for i in range(producers) for j in range(per_producer)]
            + [f"stop-{i}" for i in range(len(threads))]
        )
        for producer in started:
            producer.join(10.0)  # type: ignore[attr-defined]
    finally:
        shared.close()
        own.close()
