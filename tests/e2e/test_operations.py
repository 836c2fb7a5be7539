"""Operator commands on real backends and real workers: purge, retry failed, --burst, workers, health."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from nuvom import runtime
from nuvom.cli.app import app
from nuvom.record import JobStatus
from nuvom.runtime import get_queue

from .. import backend_fixtures
from .helpers import WorkerProcess, executions, wait_until

# run each test on file, SQLite and Redis (see tests/backend_fixtures.py)
backend = backend_fixtures.backend
optional_redis_server = backend_fixtures.optional_redis_server

runner = CliRunner()


def cli(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.output


def burst(start_worker: Callable[..., WorkerProcess], *args: str) -> WorkerProcess:
    """Run ``nuvom runworker --burst`` to its end; it must exit 0."""
    worker = start_worker("--burst", *args)
    code = worker.wait(timeout=60)
    assert code == 0, f"a burst worker must exit 0 once drained, got {code}:\n{worker.output()}"
    return worker


def test_purge_deletes_the_waiting_jobs_of_one_queue_and_cancels_their_records(
    backend: str, project: ModuleType
) -> None:
    # Given three waiting jobs in "default" (one not due yet) and one in "emails"
    jobs = [project.add.delay(i, i) for i in range(2)] + [project.add.options(countdown=3600).delay(9, 9)]
    other = project.add.options(queue="emails").delay(5, 5)

    # When the operator declines, nothing is purged
    code, out = cli("queue", "purge", "default", input="n\n")
    assert code == 1 and get_queue().qsize("default") == 3, out

    # When the operator confirms
    code, out = cli("queue", "purge", "default", input="y\n")

    # Then the three are gone and marked cancelled; the other queue keeps its job
    assert code == 0, out
    assert "purged 3 job(s) from queue 'default'" in out
    assert get_queue().qsize("default") == 0
    assert [job.status() for job in jobs] == [JobStatus.CANCELLED] * 3
    assert other.status() is JobStatus.QUEUED and get_queue().qsize("emails") == 1
    assert cli("queue", "purge", "default", "--yes") == (0, "purged 0 job(s) from queue 'default'\n")


def test_retry_failed_sends_failed_jobs_again_through_burst_workers(
    backend: str, project: ModuleType, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given failed jobs of two tasks (flaky ones fail once, then succeed)
    flaky = [project.flaky.options(retries=0).delay(f"k{i}", failures=1) for i in range(3)]
    broken = project.add.delay(1, "x")
    burst(start_worker)
    assert {job.status() for job in [*flaky, broken]} == {JobStatus.FAILED}

    # When the operator retries the failed jobs of one task
    code, out = cli("retry", "failed", "--task", "flaky")

    # Then they alone are sent again, and the next burst worker runs them to success
    assert code == 0 and "sent 3 of 3 failed job(s) again" in out, out
    assert {job.status() for job in flaky} == {JobStatus.QUEUED}
    burst(start_worker)
    assert [job.get(timeout=0) for job in flaky] == [2, 2, 2]
    assert broken.status() is JobStatus.FAILED
    assert cli("retry", "failed", "--limit", "1", "--since", "1h")[1] == "sent 1 of 1 failed job(s) again\n"


def test_retry_failed_names_a_bad_since(project: ModuleType) -> None:
    code, out = cli("retry", "failed", "--since", "yesterday")
    assert code == 2 and "--since 'yesterday'" in out


def test_a_burst_worker_runs_what_is_due_and_exits_0(
    project: ModuleType, exec_log: Path, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given 30 due jobs and one due in an hour
    due = project.work.map([(f"w{i}", 0) for i in range(30)])
    later = project.work.options(countdown=3600).delay("later", 0)

    # When a burst worker runs, Then it exits 0 with every due job done and the later one queued
    burst(start_worker, "--concurrency", "4")
    assert {job.status() for job in due} == {JobStatus.SUCCESS}
    assert len(executions(exec_log, "work")) == 30
    assert later.status() is JobStatus.SCHEDULED


def test_workers_lists_live_workers_and_marks_a_killed_one_dead(
    backend: str,
    project: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    beat = {"NUVOM_HEARTBEAT_SECS": "0.1", "NUVOM_HEARTBEAT_LAPSE_SECS": "3"}  # 30 beats: load-proof
    for name, value in beat.items():
        monkeypatch.setenv(name, value)
    runtime.reset()

    def listed() -> dict[int, dict[str, object]]:
        code, out = cli("workers", "--json")
        assert code == 0, out
        return {int(w["pid"]): w for w in json.loads(out)}

    # Given two running workers
    doomed = start_worker("--queues", "default,emails", "--concurrency", "3")
    survivor = start_worker()
    wait_until(lambda: {doomed.pid, survivor.pid} <= set(listed()), 30, "both workers to register")
    entry = listed()[doomed.pid]
    assert entry["alive"] is True and entry["queues"] == ["default", "emails"]
    assert entry["pool"] == "threads" and entry["slots"] == 3 and entry["running"] == 0
    assert cli("health", "--worker", str(entry["id"]))[0] == 0

    # When one is killed outright, Then it is shown dead once its heartbeat lapses
    doomed.kill9()
    wait_until(lambda: listed()[doomed.pid]["alive"] is False, 30, "the killed worker to be shown dead")
    assert listed()[survivor.pid]["alive"] is True
    code, out = cli("health", "--worker", str(entry["id"]))
    assert code == 1 and "last heartbeat" in out, out
    code, out = cli("workers")
    assert code == 0 and "dead" in out and str(entry["id"]) in out

    # And a worker that stops cleanly removes itself; --prune forgets the dead one
    assert survivor.stop() == 0
    assert survivor.pid not in listed()
    cli("workers", "--prune")
    assert listed() == {}


def test_health_fails_with_one_line_when_a_backend_does_not_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NUVOM_QUEUE_BACKEND", "redis")
    monkeypatch.setenv("NUVOM_REDIS_URL", "redis://127.0.0.1:1/0")
    runtime.reset()
    code, out = cli("health")
    assert code == 1
    assert out.startswith("error: unhealthy: queue backend: Redis at redis://127.0.0.1:1/0 is unreachable")
    assert out.count("\n") == 1
