"""Workflows end to end: real ``nuvom runworker`` processes on the file backend."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nuvom import JobStatus, chain, get_group, get_job, group
from nuvom.errors import JobCancelled, JobFailed
from nuvom.runtime import get_queue

from ..e2e.helpers import WorkerProcess, executions, wait_until, write_tasks

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

WF_TASKS = textwrap.dedent(
    """
    import os
    import time
    from pathlib import Path

    from nuvom import current_job, task

    LOG = Path(os.environ["E2E_LOG"])


    def _log(kind, key):
        fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{kind} {key} {os.getpid()}\\n".encode())
        finally:
            os.close(fd)


    @task(name="wf.add")
    def add(a, b):
        _log("add", f"{a}+{b}")
        return a + b


    @task(name="wf.nothing")
    def nothing(value):
        _log("nothing", value)
        return None


    @task(name="wf.note")
    def note(*args):
        _log("note", ",".join(map(str, args)))


    @task(name="wf.fail_if")
    def fail_if(value, bad=()):
        if value in bad:
            raise ZeroDivisionError(f"member {value} fails")
        return value


    @task(name="wf.total")
    def total(values):
        return sum(values)


    @task(name="wf.boom")
    def boom(key):
        _log("boom", key)
        raise ValueError(f"boom {key}")


    @task(name="wf.until_marker")
    def until_marker(key):
        _log("until_marker", key)
        if not Path(key).exists():
            raise FileNotFoundError(key)
        return "found"


    @task(name="wf.wait_cancel")
    def wait_cancel(key):
        _log("started", key)
        job = current_job()
        job.wait(20)
        job.check()
        _log("ran_out", key)


    @task(name="wf.sleepy")
    def sleepy(key, secs):
        _log("started", key)
        time.sleep(secs)
        _log("finished", key)
        return key
    """
)


@pytest.fixture
def wf_project(isolated_nuvom: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The workflow task module, importable here and by the workers."""
    write_tasks(isolated_nuvom)
    (isolated_nuvom / "wf_tasks.py").write_text(WF_TASKS)
    monkeypatch.setenv("E2E_LOG", str(isolated_nuvom / "executions.log"))
    monkeypatch.syspath_prepend(str(isolated_nuvom))
    sys.modules.pop("wf_tasks", None)
    import wf_tasks  # type: ignore[import-not-found]  # noqa: F401

    yield isolated_nuvom / "executions.log"
    sys.modules.pop("wf_tasks", None)


@pytest.fixture
def worker(isolated_nuvom: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> WorkerProcess:
        proc = WorkerProcess(isolated_nuvom, "--import", "wf_tasks", *args, env=env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop(timeout=10)


def _tasks() -> object:
    return sys.modules["wf_tasks"]


def _queue_empty() -> bool:
    stats = get_queue().stats()
    return stats.ready == 0 and stats.scheduled == 0 and stats.leased == 0


def test_groups_chains_and_chords_on_workers(wf_project: Path, worker: Callable[..., WorkerProcess]) -> None:
    t = _tasks()
    bad = (11, 50, 87)
    big = group(t.fail_if.s(i, bad=bad) for i in range(100)).delay()  # type: ignore[attr-defined]
    five = chain(t.add.s(1, 2), t.add.s(3), t.nothing.s(), t.note.s("after-none"), t.add.si(5, 5)).delay()  # type: ignore[attr-defined]
    stops = chain(t.add.s(1, 1), t.boom.s(), t.note.s("never")).delay()  # type: ignore[attr-defined]
    chord = chain(group(t.add.s(i, i) for i in range(5)), t.total.s()).delay()  # type: ignore[attr-defined]
    worker("--concurrency", "4")
    with pytest.raises(JobFailed) as failed:
        big.get(timeout=30)
    assert failed.value.index == 11 and "member 11" in str(failed.value)
    assert big.status() is JobStatus.FAILED
    assert [j.status() for j in big.jobs].count(JobStatus.FAILED) == 3
    assert [big.jobs[i].get(timeout=1) for i in (0, 12, 99)] == [0, 12, 99]
    assert five.get(timeout=30) == 10
    assert executions(wf_project, "nothing") == {"6": 1}
    assert executions(wf_project, "note") == {"None,after-none": 1}
    with pytest.raises(JobFailed) as step:
        stops.get(timeout=30)
    assert step.value.index == 1 and stops.status() is JobStatus.FAILED
    assert chord.get(timeout=30) == sum(2 * i for i in range(5))
    wait_until(_queue_empty, 10, "the queue to empty")
    assert "never" not in wf_project.read_text()

    # Polling a finished group or chain, from this process or a re-attached handle, writes nothing.
    results_dir = wf_project.parent / ".nuvom" / "results"
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in results_dir.glob("*.rec")}
    for _ in range(5):
        big.status(), five.status(), five.get(timeout=1), chord.get(timeout=1), stops.status()
        get_group(big.id).status()
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in results_dir.glob("*.rec")} == before


@pytest.mark.parametrize("point", ["stored", "linked"])
def test_callbacks_fire_exactly_once_when_the_worker_dies_after_storing(
    point: str, wf_project: Path, worker: Callable[..., WorkerProcess]
) -> None:
    t = _tasks()
    ok = t.add.s(2, 3).on_success(t.note.s("ok")).delay()  # type: ignore[attr-defined]
    bad = t.boom.s("x").on_error(t.note.s("err")).delay()  # type: ignore[attr-defined]
    kills = 0
    while not (ok.status().is_terminal and bad.status().is_terminal):
        dying = worker("--concurrency", "1", env={"NUVOM_TEST_FAULT_EXIT_AT": point})
        wait_until(lambda w=dying: w.proc.poll() is not None, 20, f"the worker to exit at {point}")  # type: ignore[misc]
        assert dying.proc.returncode == 137, dying.output()
        kills += 1
    assert kills == 2  # each linked outcome killed one worker right after it was stored
    worker()
    wait_until(lambda: sum(executions(wf_project, "note").values()) >= 2, 20, "both callbacks")
    wait_until(_queue_empty, 20, "the redelivered jobs to be acknowledged")
    assert executions(wf_project, "note") == {"5,ok": 1, f"{bad.id},err": 1}
    assert executions(wf_project, "add") == {"2+3": 1}  # stored outcome: not run again
    assert executions(wf_project, "boom") == {"x": 1}


def test_cancel_queued_and_running_jobs(wf_project: Path, worker: Callable[..., WorkerProcess]) -> None:
    t = _tasks()
    never = t.add.delay(40, 2)  # type: ignore[attr-defined]
    assert never.cancel() is True
    cooperative = t.wait_cancel.delay("coop")  # type: ignore[attr-defined]
    stubborn = t.sleepy.delay("stubborn", 2.0)  # type: ignore[attr-defined]
    worker("--concurrency", "2")
    wait_until(
        lambda: executions(wf_project, "started") == {"coop": 1, "stubborn": 1}, 20, "both jobs to start"
    )
    wait_until(
        lambda: cooperative.status() is stubborn.status() is JobStatus.RUNNING, 10, "the running records"
    )
    assert cooperative.cancel() is True and stubborn.cancel() is True
    # stubborn ignores the cancel and sleeps on: no retry may overlap its attempt until it ends
    assert stubborn.stopping() and stubborn.retry() is False
    for job in (cooperative, stubborn):
        with pytest.raises(JobCancelled):
            job.get(timeout=20)
    wait_until(_queue_empty, 10, "the queue to empty")
    assert "ran_out" not in wf_project.read_text()  # the cooperative task stopped at its check
    assert executions(wf_project, "add") == {} and never.status() is JobStatus.CANCELLED
    assert stubborn.status() is JobStatus.CANCELLED  # it finished, but its outcome was discarded
    assert not stubborn.stopping() and executions(wf_project, "finished") == {"stubborn": 1}


def _nuvom(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nuvom", *args],
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_retry_a_failed_job_from_the_cli(wf_project: Path, worker: Callable[..., WorkerProcess]) -> None:
    t = _tasks()
    marker = wf_project.parent / "marker"
    job = t.until_marker.options(retries=1, job_id="needs-marker").delay(str(marker))  # type: ignore[attr-defined]
    worker()
    with pytest.raises(JobFailed):
        job.get(timeout=20)
    assert job.info()["attempts"] == 2
    marker.write_text("")
    done = _nuvom("retry", "job", job.id)
    assert done.returncode == 0, done.stderr
    assert job.get(timeout=20) == "found"
    assert get_job(job.id).info()["attempts"] == 3
    again = _nuvom("retry", "job", job.id)
    assert again.returncode == 1 and "only failed or cancelled" in again.stderr
    assert _nuvom("retry", "job", "no-such-job").returncode == 2
    assert _nuvom("cancel", "job", job.id).returncode == 1
    assert _nuvom("cancel", "job", "no-such-job").returncode == 2
    queued = t.add.options(countdown=3600).delay(1, 1)  # type: ignore[attr-defined]
    cancelled = _nuvom("cancel", "job", queued.id)
    assert cancelled.returncode == 0 and queued.status() is JobStatus.CANCELLED


def test_shutdown_never_marks_an_interrupted_job_successful(
    wf_project: Path, worker: Callable[..., WorkerProcess]
) -> None:
    t = _tasks()
    job = t.sleepy.delay("long", 5.0)  # type: ignore[attr-defined]
    proc = worker(env={"NUVOM_SHUTDOWN_GRACE_SECS": "0.2"})
    wait_until(lambda: executions(wf_project, "started") == {"long": 1}, 20, "the job to start")
    proc.signal(signal.SIGTERM)
    proc.wait(timeout=20)
    assert job.status() is not JobStatus.SUCCESS
    assert "finished" not in wf_project.read_text()
