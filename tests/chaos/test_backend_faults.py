"""Faults of the backends themselves: Redis killed and restarted, SQLite locked, file temp leftovers."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable

import pytest

from nuvom.backends.fsutil import STALE_TEMP_SECS
from nuvom.runtime import get_queue, get_results

from .conftest import Backend
from .harness import CHAOS_JOBS, Cluster, Fault, check, drive

pytestmark = [pytest.mark.slow, pytest.mark.chaos]

JOB_SECS = 0.02


def send_jobs(backend: Backend, n: int) -> dict[str, int]:
    jobs = backend.tasks.double.map([(i, JOB_SECS) for i in range(n)])
    return {job.id: i * 2 for i, job in enumerate(jobs)}


@pytest.mark.timeout(600)
def test_redis_server_killed_and_restarted_with_appendonly_loses_no_job(
    make_backend: Callable[..., Backend], cluster: Callable[..., Cluster]
) -> None:
    # Given jobs on a Redis server with the append-only file on, and several workers
    backend = make_backend("redis")
    server = backend.redis
    assert server is not None
    expected = send_jobs(backend, CHAOS_JOBS)
    workers = cluster(backend)

    def kill_redis() -> Fault:
        at = time.time()
        server.stop(signal.SIGKILL)
        time.sleep(0.3)  # the outage: workers see connection errors meanwhile
        server.start()
        return Fault("redis-kill9", at, until=time.time())

    # When redis-server is killed with SIGKILL and restarted (same port and directory) repeatedly
    faults = drive(
        backend.log, list(expected), get_results(), kill_redis, timeout=540, on_timeout=workers.outputs
    )

    # Then nothing acknowledged was lost; reruns only for jobs in flight at an outage
    report = check(backend.log, expected, get_results(), faults)
    print(report.summary())
    assert len(faults) >= 2
    assert get_queue().qsize() == 0


@pytest.mark.timeout(600)
def test_sqlite_writer_holding_the_write_lock_stalls_but_loses_nothing(
    make_backend: Callable[..., Backend], cluster: Callable[..., Cluster]
) -> None:
    # Given jobs in SQLite and several workers
    backend = make_backend("sqlite")
    expected = send_jobs(backend, CHAOS_JOBS)
    workers = cluster(backend)
    database = backend.env["NUVOM_SQLITE_PATH"]

    def lock_database() -> Fault:
        # Another process's writer holds the write lock for 3 s (below the 10 s busy timeout).
        at = time.time()
        other = sqlite3.connect(database, timeout=30, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        threading.Event().wait(3.0)
        other.execute("COMMIT")
        other.close()
        return Fault("sqlite-lock", at, until=time.time())

    # When a competing writer takes the write lock for a few seconds, twice
    faults = drive(
        backend.log,
        list(expected),
        get_results(),
        lock_database,
        timeout=540,
        every=1.0,
        on_timeout=workers.outputs,
    )

    # Then every job completes with its result
    report = check(backend.log, expected, get_results(), faults)
    print(report.summary())
    assert faults


@pytest.mark.timeout(300)
def test_file_backend_ignores_and_cleans_crash_leftovers(
    make_backend: Callable[..., Backend], cluster: Callable[..., Cluster]
) -> None:
    # Given temp files left by processes killed between write and rename: one fresh, one stale
    backend = make_backend("file")
    data = get_queue().root  # type: ignore[attr-defined]
    leftovers = {}
    for folder in (data / "tmp", get_results().root / "tmp"):  # type: ignore[attr-defined]
        fresh, stale = folder / "999-fresh.tmp", folder / "999-stale.tmp"
        fresh.write_bytes(b"\x93half a job")
        stale.write_bytes(b"\x00garbage")
        old = time.time() - STALE_TEMP_SECS - 60
        os.utime(stale, (old, old))
        leftovers[fresh] = stale
    expected = send_jobs(backend, 100)
    workers = cluster(backend, size=2)

    # When workers run, and a worker is killed mid-write every so often
    faults = drive(backend.log, list(expected), get_results(), workers.kill9_random, timeout=240, every=1.5)

    # Then the leftovers were never taken for jobs, stale ones were removed, no job was lost
    check(backend.log, expected, get_results(), faults)
    get_results().purge_expired()  # workers run it every minute; the queue sweeps on its own
    for fresh, stale in leftovers.items():
        assert fresh.exists(), "a temp file younger than the cutoff may be a write in progress"
        assert not stale.exists(), f"stale temp file {stale} not cleaned"
    assert get_queue().stats().quarantined == 0  # type: ignore[attr-defined]
