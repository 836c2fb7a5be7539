"""Rate and concurrency limits enforced by real worker processes on file, SQLite and Redis.

Assertions come from the jobs' own timestamps: ``started_at`` is the instant the limiter granted
the start, and the tasks log their start and end times; waits poll with deadlines.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from nuvom import JobStatus, get_job
from nuvom.runtime import get_results, get_scheduler_store

from ..e2e.helpers import WorkerProcess, wait_until

pytestmark = pytest.mark.slow

RATE, JOBS = 20, 200


def _log(flow_log: Path, kind: str) -> list[list[str]]:
    if not flow_log.exists():
        return []
    return [line.split() for line in flow_log.read_text().splitlines() if line.startswith(kind + " ")]


@pytest.mark.timeout(120)
def test_a_rate_limit_holds_across_three_workers(
    backend: str, tasks: ModuleType, flow_log: Path, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given 200 jobs of a task limited to 20/s, and three workers
    jobs = tasks.limited.map(range(JOBS))
    workers = [start_worker("--concurrency", "4") for _ in range(3)]

    # When they have all run
    wait_until(
        lambda: all(j.status() is JobStatus.SUCCESS for j in jobs), timeout=90, what="every job to succeed"
    )

    # Then no window of 1 s holds more than 20 starts, so the run took at least 9 s, and no job
    # was charged an attempt for waiting
    records = [get_job(j.id).info() for j in jobs]
    starts = sorted(r["started_at"] for r in records)
    crowded = [(a, b) for a, b in zip(starts, starts[RATE:], strict=False) if b - a < 1.0]
    assert not crowded, f"{len(crowded)} windows of 1 s hold more than {RATE} starts, e.g. {crowded[0]}"
    assert starts[-1] - starts[0] >= (JOBS / RATE) - 1
    assert {r["attempts"] for r in records} == {1}
    assert {r["waiting"] for r in records} == {None}
    assert len(_log(flow_log, "limited")) == JOBS  # each ran once
    for worker in workers:
        assert worker.stop() == 0


@pytest.mark.timeout(90)
def test_one_job_per_key_at_a_time_and_keys_in_parallel(
    backend: str, tasks: ModuleType, flow_log: Path, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given 4 jobs of each of two customers, one at a time per customer, and three workers
    jobs = [tasks.per_customer.delay(c, i, secs=0.3) for i in range(4) for c in ("ann", "bob")]
    workers = [start_worker("--concurrency", "3") for _ in range(3)]

    # When they have all run
    wait_until(lambda: all(j.status() is JobStatus.SUCCESS for j in jobs), timeout=60, what="every job")

    # Then the runs of one customer never overlap, and the two customers ran side by side
    starts = {(f[1], f[2]): float(f[3]) for f in _log(flow_log, "start")}
    ends = {(f[1], f[2]): float(f[3]) for f in _log(flow_log, "end")}
    runs = {key: (starts[key], ends[key]) for key in starts}
    assert len(runs) == 8
    for customer in ("ann", "bob"):
        own = sorted(span for key, span in runs.items() if key[0] == customer)
        overlaps = [(a, b) for a, b in zip(own, own[1:], strict=False) if b[0] < a[1]]
        assert not overlaps, f"runs of {customer} overlap: {overlaps}"
    ann = [span for key, span in runs.items() if key[0] == "ann"]
    bob = [span for key, span in runs.items() if key[0] == "bob"]
    assert any(a[0] < b[1] and b[0] < a[1] for a in ann for b in bob), "the two customers never ran at once"
    for worker in workers:
        assert worker.stop() == 0


@pytest.mark.timeout(90)
def test_a_killed_worker_gives_its_slot_back_when_its_lease_lapses(
    backend: str, tasks: ModuleType, flow_log: Path, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given a worker (leases of 2 s) running a job that holds the one slot of customer "cy" for 60 s
    # (on a queue of its own: that worker must not also hold the second job, waiting for a thread)
    env = {"NUVOM_LEASE_SECS": "2"}
    holder = tasks.per_customer.options(queue="hold").delay("cy", 0, secs=0, hang_once=True)
    doomed = start_worker("--concurrency", "1", "--queues", "hold", env=env)
    wait_until(lambda: _log(flow_log, "start"), timeout=30, what="the first job to start")
    waiting = tasks.per_customer.delay("cy", 1, secs=0)
    survivor = start_worker("--concurrency", "2", "--queues", "default,hold", env=env)
    wait_until(
        lambda: (get_job(waiting.id).info().get("waiting") or "").startswith("concurrency_limit 1"),
        timeout=30,
        what="the second job to wait for the slot",
    )

    # When that worker is killed with SIGKILL while it holds the slot
    doomed.kill9()

    # Then the slot comes back with the lapsed lease: both jobs finish long before the 60 s hold
    wait_until(
        lambda: holder.status() is JobStatus.SUCCESS and waiting.status() is JobStatus.SUCCESS,
        timeout=30,
        what="both jobs of the key to finish after the kill",
    )
    assert get_job(waiting.id).info()["attempts"] == 1
    assert survivor.stop() == 0


@pytest.mark.timeout(90)
def test_a_limited_task_does_not_starve_an_unlimited_one(
    backend: str, tasks: ModuleType, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given 40 jobs of a task limited to 2/s (20 s of work), then 10 of an unlimited task, one queue
    slow = tasks.slow_lane.map(range(40))
    fast = tasks.fast_lane.map(range(10))
    worker = start_worker("--concurrency", "2")

    # When the unlimited jobs have run
    wait_until(lambda: all(j.status() is JobStatus.SUCCESS for j in fast), timeout=30, what="the fast jobs")

    # Then most limited jobs still wait, queued, saying for which limit, with no attempt spent
    waiting = [get_job(j.id).info() for j in slow]
    queued = [r for r in waiting if r["status"] == "queued" and r["waiting"]]
    assert len(queued) >= 10
    assert all(r["waiting"] == "rate_limit 2/s of task slow_lane" and r["attempts"] == 0 for r in queued)
    assert worker.stop() == 0


@pytest.mark.timeout(90)
def test_two_plain_workers_run_each_schedule_fire_exactly_once(
    backend: str, tasks: ModuleType, flow_log: Path, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given an interval schedule of 1 s and two plain `nuvom runworker` processes
    tasks.tick.schedule(interval=1, schedule_id="tick")
    workers = [start_worker("--concurrency", "2") for _ in range(2)]
    store = get_scheduler_store()

    # When the schedule has fired 4 times
    def fired() -> int:
        record = store.get("tick")
        assert record is not None
        return record.run_count

    wait_until(lambda: fired() >= 4, timeout=40, what="4 fires")
    for worker in workers:
        assert "sends due schedules" in worker.output()
    sent = _fire_jobs()
    wait_until(lambda: all(get_job(j).status() is JobStatus.SUCCESS for j in sent), 30, "the fires' jobs")
    for worker in workers:
        assert worker.stop() == 0

    # Then each fire was sent as one job, and no job ran twice
    ran = [f[1] for f in _log(flow_log, "tick")]
    assert len(set(ran)) == len(ran), "a fire's job ran twice"
    assert set(sent) <= set(ran)
    record = store.get("tick")
    assert record is not None and len(_fire_jobs()) == record.run_count


def _fire_jobs() -> list[str]:
    return [r.id for r in get_results().list_jobs(limit=1000) if r.id.startswith("tick:")]
