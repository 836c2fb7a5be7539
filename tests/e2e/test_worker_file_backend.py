"""End to end on the file backend: real worker processes, real files, real signals."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from nuvom import JobStatus, get_job, task
from nuvom.runtime import get_queue, get_results

from .helpers import WorkerProcess, executions, wait_until

pytestmark = pytest.mark.slow

StartWorker = Callable[..., WorkerProcess]


def all_finished(jobs: list) -> Callable[[], bool]:
    def check() -> bool:
        return all(job.status().is_terminal for job in jobs)

    return check


def test_500_jobs_via_delay_and_map_all_results_correct(
    project: ModuleType, start_worker: StartWorker
) -> None:
    # Given 250 jobs sent with .delay and 250 with one .map, and a job whose task returns None
    delayed = [project.add.delay(i, i) for i in range(250)]
    mapped = project.add.map([(i, 1000) for i in range(250)])
    none_job = project.nothing.delay("n")

    # When a worker process runs them
    start_worker("--concurrency", "4")
    wait_until(all_finished([*delayed, *mapped, none_job]), 60, "all 501 jobs to finish")

    # Then every result reads back correct, and None is a result, not "pending"
    assert [job.get(timeout=1) for job in delayed] == [2 * i for i in range(250)]
    assert [job.get(timeout=1) for job in mapped] == [i + 1000 for i in range(250)]
    assert none_job.status() is JobStatus.SUCCESS
    assert none_job.get(timeout=1) is None
    assert get_queue().qsize() == 0


def test_kill_9_loses_nothing_and_recovery_does_not_wait_for_the_lease(
    project: ModuleType, start_worker: StartWorker, exec_log: Path, isolated_nuvom: Path
) -> None:
    # Given 300 jobs of 20 ms and a worker whose leases last 10 minutes
    jobs = project.work.map([(f"k{i}", 0.02) for i in range(300)])
    env = {"NUVOM_LEASE_SECS": "600"}
    first = start_worker("--concurrency", "4", env=env)
    wait_until(lambda: sum(executions(exec_log, "work").values()) >= 60, 30, "60 executions")

    # When it is killed with SIGKILL mid-run and another worker starts
    first.kill9()
    ran_before_kill = executions(exec_log, "work")
    # The dead worker's unacknowledged claims: lease files are EXPIRY~OWNER~QUEUE~P-DUE~ID~A~D
    leased_dir = isolated_nuvom / ".nuvom" / "queue" / "leased"
    in_flight = {name.split("~")[4] for name in os.listdir(leased_dir)}
    start_worker("--concurrency", "4", env=env)

    # Then every job completes well before the 600 s lease could expire: the dead worker's lock
    # is free, so its leases are returned at once
    wait_until(all_finished(jobs), 60, "all jobs to finish after the kill")
    assert [job.get(timeout=1) for job in jobs] == [f"k{i}" for i in range(300)]
    counts = executions(exec_log, "work")
    twice = sorted(key for key, n in counts.items() if n > 1)
    # Only jobs in flight at the kill (claimed, not yet acknowledged) may run twice.
    ids_of = {job.id: key for job, key in zip(jobs, (f"k{i}" for i in range(300)))}
    assert set(twice) <= {ids_of[job_id] for job_id in in_flight}, (twice, in_flight)
    assert all(key in ran_before_kill for key in twice)
    print(f"kill -9: {len(in_flight)} jobs in flight, {len(twice)} of 300 ran twice: {twice}")


def test_two_workers_never_run_a_job_twice(
    project: ModuleType, start_worker: StartWorker, exec_log: Path
) -> None:
    jobs = project.work.map([(f"j{i}", 0.005) for i in range(400)])
    start_worker("--concurrency", "2")
    start_worker("--concurrency", "2")
    wait_until(all_finished(jobs), 60, "all jobs to finish")
    counts = executions(exec_log, "work")
    assert len(counts) == 400
    assert max(counts.values()) == 1
    pids = {line.split()[2] for line in exec_log.read_text().splitlines()}
    assert len(pids) == 2, "both workers took part"


def test_corrupt_entry_is_quarantined_and_valid_jobs_run(
    project: ModuleType, start_worker: StartWorker, isolated_nuvom: Path
) -> None:
    # Given valid jobs and two garbage files in the ready folder
    jobs = project.add.map([(i, 1) for i in range(20)])
    ready = isolated_nuvom / ".nuvom" / "queue" / "ready" / "default"
    (ready / "garbage.txt").write_bytes(b"\x00\x01 not a job")
    (ready / "0" / "0-0000000000000000001~badjob~0~0").write_bytes(b"\xc1\xc1\xc1")

    # When a worker runs
    worker = start_worker()
    wait_until(all_finished(jobs), 30, "valid jobs to finish")

    # Then both garbage entries are quarantined with a reason, the worker lives on
    wait_until(lambda: get_queue().stats().quarantined == 2, 10, "2 quarantined entries")
    assert [job.get() for job in jobs] == [i + 1 for i in range(20)]
    reasons = list((isolated_nuvom / ".nuvom" / "queue" / "quarantine").glob("*.reason"))
    assert len(reasons) == 2
    assert worker.proc.poll() is None


def test_unknown_task_fails_with_a_clear_stored_error(project: ModuleType, start_worker: StartWorker) -> None:
    @task(name="only_in_the_client")
    def only_in_the_client() -> int:
        return 1

    job = only_in_the_client.delay()
    start_worker()
    wait_until(lambda: job.status().is_terminal, 30, "the job to fail")
    info = job.info()
    assert info["status"] == "failed"
    assert info["error"]["type"] == "TaskNotFound"
    assert "only_in_the_client" in info["error"]["message"]


def test_retries_end_in_success_after_three_attempts_with_bounded_backoff(
    project: ModuleType, start_worker: StartWorker, exec_log: Path
) -> None:
    job = project.flaky.delay("r1", failures=2)
    start_worker()
    assert job.get(timeout=30) == 3
    info = job.info()
    assert info["status"] == "success"
    assert info["attempts"] == 3
    starts = [
        float(line.split()[1].split("@")[1])
        for line in exec_log.read_text().splitlines()
        if "flaky r1@" in line
    ]
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:])]
    # Full jitter: the delay before retry n is within [0, 0.2 * 2 ** (n - 1)], plus claim latency.
    assert len(gaps) == 2
    for n, gap in enumerate(gaps, start=1):
        assert gap <= 0.2 * 2 ** (n - 1) + 1.0, gaps


def test_timeout_fails_the_job_and_the_slot_is_replaced(
    project: ModuleType, start_worker: StartWorker
) -> None:
    # Given one slot, a job that hangs for 30 s with a 0.5 s timeout, then quick jobs
    hung = project.hang.delay("h")
    quick = project.add.map([(i, i) for i in range(10)])

    # When a worker with a single slot runs them
    start_worker("--concurrency", "1")

    # Then the hung job fails with JobTimeout and the quick jobs still run on a replacement thread
    wait_until(lambda: hung.status().is_terminal, 20, "the hung job to time out")
    assert hung.info()["error"]["type"] == "JobTimeout"
    assert [job.get(timeout=20) for job in quick] == [2 * i for i in range(10)]


def test_sigterm_finishes_running_jobs_and_loses_nothing(
    project: ModuleType, start_worker: StartWorker, exec_log: Path
) -> None:
    jobs = project.work.map([(f"g{i}", 0.05) for i in range(120)])
    first = start_worker("--concurrency", "2")
    wait_until(lambda: sum(executions(exec_log, "work").values()) >= 10, 30, "10 executions")

    first.signal(signal.SIGTERM)
    assert first.wait(timeout=30) == 0
    done = sum(1 for job in jobs if job.status() is JobStatus.SUCCESS)
    assert 10 <= done < 120
    assert all(job.status() in (JobStatus.SUCCESS, JobStatus.QUEUED) for job in jobs)
    assert get_queue().stats().leased == 0

    start_worker("--concurrency", "2")
    wait_until(all_finished(jobs), 60, "the rest to finish")
    counts = executions(exec_log, "work")
    assert len(counts) == 120
    assert max(counts.values()) == 1, "a graceful stop runs nothing twice"


def test_a_job_that_kills_its_worker_is_failed_as_poison(
    project: ModuleType, start_worker: StartWorker, exec_log: Path
) -> None:
    job = project.crash.delay("c")
    env = {"NUVOM_MAX_DELIVERIES": "2"}
    for _ in range(3):  # twice with others around it, then alone
        worker = start_worker(env=env)
        assert worker.wait(timeout=30) == 3  # the task os._exit(3)s its worker
    start_worker(env=env)
    wait_until(lambda: job.status().is_terminal, 30, "the poison job to be failed")
    info = job.info()
    assert info["error"]["type"] == "PoisonJob"
    assert "stopped while it ran alone, after 4 deliveries" in info["error"]["message"]
    assert executions(exec_log, "crash")["c"] == 3


def test_results_survive_in_another_process(project: ModuleType, start_worker: StartWorker) -> None:
    job = project.add.delay(20, 22)
    start_worker()
    wait_until(lambda: job.status().is_terminal, 30, "the job to finish")
    record = get_results().get_full(job.id)
    assert record is not None and record.worker_id is not None
    assert get_job(job.id).get() == 42


def test_timeout_retry_starts_only_after_the_timed_out_attempt_exits(
    project: ModuleType, start_worker: StartWorker, exec_log: Path
) -> None:
    job = project.slow_then_fast.delay("s")
    start_worker("--concurrency", "2")
    assert job.get(timeout=30) == "done"
    assert job.info()["attempts"] == 2
    events = [line.split()[2] for line in exec_log.read_text().splitlines() if line.startswith("slow s ")]
    times = {}
    for event in events:
        name, _, stamp = event.partition("@")
        times.setdefault(name, []).append(float(stamp))
    assert len(times["start"]) == 2 and len(times["end"]) == 2
    first_end = min(times["end"])
    second_start = max(times["start"])
    assert second_start >= first_end, "the retry overlapped the timed-out attempt"


def test_lifecycle_hooks_fire_in_the_worker_and_a_raising_hook_is_not_fatal(
    project: ModuleType, start_worker: StartWorker, exec_log: Path
) -> None:
    job = project.hooked.delay(True)
    worker = start_worker()
    assert job.get(timeout=30) == "ok"
    hooks = [line.split()[1] for line in exec_log.read_text().splitlines() if line.startswith("hook ")]
    assert hooks == ["before", "error:KeyError", "before", "after:ok"]
    wait_until(lambda: "a hook that raises is logged" in worker.output(), 10, "the hook error in the log")
    assert worker.proc.poll() is None
