"""``pool="processes"``: attempts run in child processes, killed on timeout, replaced when lost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nuvom import JobStatus
from tests.e2e.helpers import wait_until

from . import exec_tasks as t
from .conftest import StartWorker

pytestmark = pytest.mark.timeout(60)


def finished(*jobs: object) -> bool:
    return all(job.status().is_terminal for job in jobs)  # type: ignore[attr-defined]


def pids(kind: str) -> list[int]:
    return [int(row[2]) for row in t.lines(kind)]


def test_hung_task_is_killed_at_its_timeout_and_other_jobs_keep_flowing(
    start_worker: StartWorker, exec_log: Path
) -> None:
    # Given a task stuck in a busy loop (timeout 1 s) and 20 quick jobs behind it
    hung = t.spin.delay("h")
    quick = [t.plus.delay(i, i) for i in range(20)]

    # When a process pool of 2 runs them
    worker = start_worker(pool="processes", concurrency=2)
    wait_until(lambda: finished(*quick), 20, "the quick jobs")
    wait_until(lambda: finished(hung), 20, "the hung job")

    # Then the quick jobs succeed, the hung one fails with a timeout and its child is dead
    assert [job.get(timeout=1) for job in quick] == [2 * i for i in range(20)]
    record = hung._record()
    assert record.status is JobStatus.FAILED
    assert record.error is not None and record.error.type == "JobTimeout"
    (child,) = pids("spin")
    assert child != os.getpid()
    wait_until(lambda: not t.alive(child), 5, "the hung child to be gone")
    # and its slot got a new child
    assert t.exec_whoami.delay("next").get(timeout=10) != child
    assert worker._children is not None and worker._children.started == 3


def test_a_timed_out_attempt_is_dead_before_its_retry_starts(
    start_worker: StartWorker, exec_log: Path
) -> None:
    # Given a task that hangs on every attempt, with timeout policy retry and one retry
    job = t.spin_retry.delay("r")

    # When a process pool runs it
    start_worker(pool="processes", concurrency=2)
    wait_until(lambda: finished(job), 20, "both attempts")

    # Then two attempts ran in two children, the second only after the first child was gone
    first, second = pids("spin_retry")
    assert first != second
    assert t.lines("overlap") == []
    record = job._record()
    assert record.status is JobStatus.FAILED and record.attempts == 2
    assert record.error is not None and record.error.type == "JobTimeout"


def test_a_child_that_exits_fails_its_job_with_worker_lost_and_is_replaced(
    start_worker: StartWorker, exec_log: Path
) -> None:
    # Given a job whose child calls os._exit(1), one that does so only on its first attempt,
    # and ordinary jobs
    dies = t.exit_now.delay("x")
    recovers = t.exit_first.delay("y")
    quick = [t.plus.delay(i, 1) for i in range(10)]

    # When a process pool of 2 runs them
    start_worker(pool="processes", concurrency=2)
    wait_until(lambda: finished(dies, recovers, *quick), 20, "all jobs")

    # Then the first fails with a clear WorkerLost error, the second succeeds when retried,
    # and nothing else is lost
    record = dies._record()
    assert record.status is JobStatus.FAILED
    assert record.error is not None and record.error.type == "WorkerLost"
    assert f"child pid {pids('exit')[0]} exited with code 1" in record.error.message
    assert recovers.get(timeout=1) == "second attempt"
    assert [job.get(timeout=1) for job in quick] == [i + 1 for i in range(10)]


def test_a_child_past_max_memory_is_recycled(start_worker: StartWorker, exec_log: Path) -> None:
    # Given a job that makes its child hold 120 MB, then jobs that report their child's pid
    hog = t.hog.delay(120)

    # When one child with a 100 MB limit runs them one after the other
    start_worker(pool="processes", concurrency=1, max_memory_per_child=100)
    hog_pid = hog.get(timeout=20)
    after = [t.exec_whoami.delay(str(i)).get(timeout=20) for i in range(3)]

    # Then the hog's child was replaced, and the new child (under the limit) is kept
    assert hog_pid not in after
    assert len(set(after)) == 1
    wait_until(lambda: not t.alive(hog_pid), 5, "the recycled child to be gone")


def test_children_are_recycled_after_max_jobs(start_worker: StartWorker, exec_log: Path) -> None:
    # Given six jobs run one at a time by children that serve two jobs each
    start_worker(pool="processes", concurrency=1, max_jobs_per_child=2)
    served = [t.exec_whoami.delay(str(i)).get(timeout=20) for i in range(6)]

    # Then three children ran two jobs each
    assert served[0] == served[1] != served[2] == served[3] != served[4] == served[5]
    assert len(set(served)) == 3


def test_cancelling_a_running_job_kills_its_child(start_worker: StartWorker, exec_log: Path) -> None:
    # Given a job running in a child that never checks for cancellation
    job = t.wait_for_cancel.delay("c")
    start_worker(pool="processes", concurrency=1)
    wait_until(lambda: t.lines("started"), 20, "the job to start")

    # When it is cancelled
    assert job.cancel()

    # Then its child is killed and the job ends cancelled, well before its 30 s timeout
    wait_until(lambda: job._record().finished_at is not None, 10, "the job to stop")
    assert job.status() is JobStatus.CANCELLED
    wait_until(lambda: not t.alive(pids("started")[0]), 5, "the child to be gone")


def test_hooks_run_in_the_child(start_worker: StartWorker, exec_log: Path) -> None:
    # Given a task that reports the pid it runs in
    job = t.exec_whoami.delay("h")

    # When a process pool runs it, its result is the child's pid, not the worker's
    start_worker(pool="processes", concurrency=1)
    assert job.get(timeout=20) not in (os.getpid(), None)


def test_an_outcome_crosses_the_pipe_whole(start_worker: StartWorker, exec_log: Path) -> None:
    # Given a task that asks for a delayed retry, then fails
    job = t.retry_then_fail.delay("o")

    # When a process pool runs it
    start_worker(pool="processes", concurrency=1)
    wait_until(lambda: finished(job), 20, "the job to fail after its retry")

    # Then the retry waited the delay asked for, and the failure kept its type, message and traceback
    record = job._record()
    assert record.status is JobStatus.FAILED and record.attempts == 2
    assert record.error is not None and record.error.type == "ValueError"
    assert record.error.message == "second attempt of o fails"
    assert "raise ValueError" in record.error.traceback
    started = [float(row[1].partition("@")[2]) for row in t.lines("retry_then_fail")]
    assert started[1] - started[0] >= 0.2


def test_two_children_run_two_jobs_at_once(start_worker: StartWorker, exec_log: Path) -> None:
    # Given two jobs that each wait until both have started
    folder = exec_log.parent / "rendezvous"
    folder.mkdir()
    jobs = t.rendezvous.map([(str(folder), 2)] * 2)

    # When a pool of two children runs them, they meet, in two children
    start_worker(pool="processes", concurrency=2)
    assert [job.get(timeout=40) for job in jobs] == [True, True]
    assert len(os.listdir(folder)) == 2


def test_workflows_continue_for_jobs_run_in_children(start_worker: StartWorker, exec_log: Path) -> None:
    from nuvom.workflows import chain, group

    # Given a chain, a chord and a chain whose middle step's child exits
    steps = chain(t.plus.s(1, 2), t.plus.s(3), t.plus.s(4)).delay()
    chord = chain(group(t.plus.s(i, i) for i in range(4)), t.exec_total.s()).delay()
    broken = chain(t.plus.s(1, 1), t.exit_now.si("w"), t.plus.s(1)).delay()

    # When a process pool runs them, the parent sends each follow-up
    start_worker(pool="processes", concurrency=2)
    assert steps.get(timeout=30) == 10
    assert chord.get(timeout=30) == 12
    wait_until(lambda: broken.status().is_terminal, 30, "the broken chain")
    assert broken.status() is JobStatus.FAILED


def _gone(pid: int) -> bool:
    """Exited (a zombie not yet reaped by whoever inherited it counts as exited)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_a_child_does_not_outlive_its_worker_killed_with_sigkill(
    exec_log: Path, isolated_nuvom: Path
) -> None:
    # Given a worker process whose child runs a job that would go on for 30 s
    t.wait_for_cancel.delay("orphan")
    repo = Path(__file__).resolve().parents[2]
    argv = [sys.executable, "-m", "nuvom", "runworker", "--pool", "processes", "--concurrency", "1"]
    argv += ["--import", "tests.execution.exec_tasks"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")])}
    with open(isolated_nuvom / "worker.log", "wb") as output:
        worker = subprocess.Popen(argv, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: t.lines("started"), 30, "the job to start in a child")
        (child,) = pids("started")
        assert child != worker.pid

        # When the worker is killed with SIGKILL
        worker.kill()
        worker.wait(timeout=10)

        # Then its child ends too, instead of running the job on with nobody to store its outcome
        wait_until(lambda: _gone(child), 10, "the orphaned child to exit")
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
