"""Long jobs, frozen workers (fencing) and crashes at each point of a job's life."""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest

from nuvom import serialization
from nuvom.record import JobStatus
from nuvom.runtime import get_queue, get_results

from ..e2e.helpers import wait_until
from .conftest import Backend
from .harness import Cluster, Process, read_log

pytestmark = [pytest.mark.slow, pytest.mark.chaos]

LEASE = {"NUVOM_LEASE_SECS": "1"}


def terminal(job_id: str) -> Callable[[], bool]:
    def check() -> bool:
        record = get_results().get_full(job_id)
        return record is not None and record.status.is_terminal

    return check


def succeeded_with(job_id: str, value: object) -> Callable[[], bool]:
    def check() -> bool:
        record = get_results().get_full(job_id)
        ok = record is not None and record.status is JobStatus.SUCCESS and record.result is not None
        return ok and serialization.loads(record.result) == value  # type: ignore[union-attr, arg-type]

    return check


def result_of(job_id: str) -> object:
    record = get_results().get_full(job_id)
    assert record is not None and record.status is JobStatus.SUCCESS and record.result is not None
    return serialization.loads(record.result)


@pytest.mark.timeout(120)
def test_a_job_running_three_leases_with_heartbeats_runs_once(
    make_backend: Callable[..., Backend], cluster: Callable[..., Cluster], single_job_backend: str
) -> None:
    # Given jobs that run 3x the 1 s lease, and two workers that could steal them
    backend = make_backend(single_job_backend, **LEASE)
    jobs = [backend.tasks.whoami.delay(3.0) for _ in range(2)]
    cluster(backend, size=2, args=("--concurrency", "1"))

    # When they run to the end
    for job in jobs:
        wait_until(terminal(job.id), 60, f"job {job.id}")

    # Then each ran once: the heartbeats kept the lease
    runs = read_log(backend.log)
    assert {job.id: len(runs[job.id]) for job in jobs} == {job.id: 1 for job in jobs}


@pytest.mark.timeout(120)
def test_a_worker_frozen_past_its_lease_cannot_overwrite_the_new_holders_outcome(
    make_backend: Callable[..., Backend], backend_name: str, isolated_nuvom
) -> None:
    # Given a worker running a 2 s job, frozen with SIGSTOP past its 1 s lease
    backend = make_backend(backend_name, **LEASE)
    job = backend.tasks.whoami.delay(2.0)
    frozen = Process(isolated_nuvom, backend.env, "--concurrency", "1")
    wait_until(lambda: job.id in read_log(backend.log), 30, "the first worker to start the job")
    frozen.signal(signal.SIGSTOP)
    try:
        # When another worker takes it over and finishes it
        taker = Process(isolated_nuvom, backend.env, "--concurrency", "1")
        # (waited for, not read once: a loaded machine may make the taker run it twice)
        wait_until(succeeded_with(job.id, taker.pid), 30, "the taker's outcome")
    finally:
        frozen.signal(signal.SIGCONT)

    # Then the resumed worker finishes its attempt, but its outcome does not replace the new one
    # on the fencing backends; the file backend does not fence: the last writer wins.
    if backend_name == "file":
        wait_until(succeeded_with(job.id, frozen.pid), 30, "the resumed worker's late outcome")
    else:
        wait_until(lambda: "lease lost" in frozen.output(), 30, "the resumed worker to see its lease lost")
        assert result_of(job.id) == taker.pid
    first, *others = [r.pid for r in read_log(backend.log)[job.id]]
    assert first == frozen.pid and set(others) == {taker.pid}
    wait_until(lambda: get_queue().stats().leased == 0, 30, "no lease left")
    assert get_queue().qsize() == 0
    for proc in (frozen, taker):
        assert proc.stop(timeout=30) == 0


@pytest.mark.parametrize(
    ("point", "redelivered"), [("claimed", True), ("task", True), ("completing", True), ("acked", False)]
)
@pytest.mark.timeout(120)
def test_a_crash_at_each_point_redelivers_until_acked(
    make_backend: Callable[..., Backend],
    single_job_backend: str,
    isolated_nuvom,
    point: str,
    redelivered: bool,
) -> None:
    # Given one job and a worker that crashes (exit as if killed) at ``point``
    backend = make_backend(single_job_backend, **LEASE)
    job = backend.tasks.whoami.delay(0.0)
    fault = {"CHAOS_EXIT_IN_TASK": "1"} if point == "task" else {"NUVOM_TEST_FAULT_EXIT_AT": point}
    dying = Process(isolated_nuvom, {**backend.env, **fault}, "--concurrency", "1", "--batch-size", "1")
    assert dying.proc.wait(timeout=60) == 137, dying.output()

    # When a healthy worker runs after it, and drains a later job too
    later = backend.tasks.whoami.delay(0.0)
    healthy = Process(isolated_nuvom, backend.env, "--concurrency", "1")
    wait_until(terminal(later.id), 30, "the later job")
    if redelivered:
        wait_until(terminal(job.id), 30, "the redelivered job")

    # Then the job was delivered again and finished by the healthy worker, except after its ack
    assert terminal(job.id)()
    ran_by = [r.pid for r in read_log(backend.log).get(job.id, [])]
    expected_runs = {"claimed": [healthy.pid], "task": [dying.pid, healthy.pid]}.get(point)
    if point in ("completing", "acked"):
        expected_runs = [dying.pid, healthy.pid] if redelivered else [dying.pid]
    assert ran_by == expected_runs
    assert result_of(job.id) == (healthy.pid if redelivered else dying.pid)
    wait_until(lambda: get_queue().stats().leased == 0, 30, "no lease left")
    assert get_queue().qsize() == 0
    assert healthy.stop(timeout=30) == 0
