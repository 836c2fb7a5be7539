"""``async def`` tasks on the worker's event loop, and the async client API."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from pathlib import Path

import pytest

from nuvom import JobStatus
from tests.e2e.helpers import wait_until

from . import exec_tasks as t
from .conftest import StartWorker

pytestmark = pytest.mark.timeout(60)


def test_200_sleeping_coroutines_run_at_once(start_worker: StartWorker, exec_log: Path) -> None:
    # Given 200 async jobs that each sleep 0.2 s
    jobs = t.nap.map([(0.2,)] * 200)

    # When a worker with 200 slots runs them
    began = time.monotonic()
    start_worker(concurrency=200)
    assert [job.get(timeout=30) for job in jobs] == [0.2] * 200
    elapsed = time.monotonic() - began

    # Then they took a small fraction of the 40 s they would take one after the other
    assert elapsed / (200 * 0.2) < 0.25, elapsed


def test_an_async_task_past_its_timeout_is_cancelled(start_worker: StartWorker, exec_log: Path) -> None:
    # Given an async job that would sleep 30 s with a timeout of 0.3 s
    job = t.oversleep.delay("o")

    # When a worker runs it
    start_worker(concurrency=2)
    wait_until(lambda: job.status().is_terminal, 10, "the job to end")

    # Then its coroutine was cancelled and the job failed with a timeout
    assert t.lines("cancelled") == [["cancelled", "o", t.lines("cancelled")[0][2]]]
    record = job._record()
    assert record.status is JobStatus.FAILED
    assert record.error is not None and record.error.type == "JobTimeout"


def test_sync_and_async_jobs_run_side_by_side(start_worker: StartWorker, exec_log: Path) -> None:
    # Given a sync job and an async job that each wait until the other has started
    t.sync_side.clear()
    t.async_side.clear()
    sync_job, async_job = t.meet_sync.delay(), t.meet_async.delay()

    # When a worker with two slots runs them, both meet
    start_worker(concurrency=2)
    assert sync_job.get(timeout=20) is True
    assert async_job.get(timeout=20) is True


def test_async_jobs_do_not_take_job_threads(start_worker: StartWorker, exec_log: Path) -> None:
    # Given 3 long async sleeps and a sync job, on a worker with 4 slots
    sleepers = t.nap.map([(1.0,)] * 3)
    worker = start_worker(concurrency=4)
    wait_until(lambda: all(job.status() is JobStatus.RUNNING for job in sleepers), 10, "the sleepers")

    # Then the sync job runs while they sleep, on a job thread, not the loop's
    assert t.exec_whoami.delay("s").get(timeout=5)
    assert not all(job.status().is_terminal for job in sleepers)
    assert worker._loop.lag_warnings == 0


def test_a_coroutine_blocking_the_loop_is_reported(
    start_worker: StartWorker, exec_log: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given an async task that calls time.sleep(1.2)
    job = t.block_loop.delay(1.2)

    # When a worker runs it
    with caplog.at_level(logging.WARNING, logger="nuvom.worker.event_loop"):
        worker = start_worker(concurrency=2)
        job.get(timeout=20)
        wait_until(lambda: "blocked for" in caplog.text, 5, "the unblocked message")

    # Then the watchdog warned, pointing at the blocking call
    assert worker._loop.lag_warnings == 1
    assert "event loop of async tasks is blocked" in caplog.text
    assert "time.sleep(secs)" in caplog.text


def test_async_task_called_directly_is_a_coroutine() -> None:
    # A plain call of an async task returns an awaitable, run with await as usual
    pending = t.echo("hi")
    assert inspect.iscoroutine(pending)
    assert asyncio.run(pending) == "hi"


def test_async_client_inside_a_running_loop(start_worker: StartWorker, exec_log: Path) -> None:
    start_worker(concurrency=4)
    beats: list[float] = []

    async def heartbeat(stop: asyncio.Event) -> None:
        while not stop.is_set():
            beats.append(time.monotonic())
            await asyncio.sleep(0.01)

    async def main() -> tuple[int, str, JobStatus, str]:
        stop = asyncio.Event()
        beat = asyncio.create_task(heartbeat(stop))
        job = await t.plus.adelay(2, 3)
        other = await t.echo.options(priority=1).adelay("via options")
        value = await job.aget(timeout=20)
        echoed = await other.aget(timeout=20)
        status = await job.astatus()
        slow = await t.nap.adelay(1.0)
        with pytest.raises(TimeoutError):
            await slow.aget(timeout=0.1)
        stop.set()
        await beat
        return value, echoed, status, threading.current_thread().name

    # From inside asyncio.run: no "event loop is already running", and the loop kept beating
    value, echoed, status, _ = asyncio.run(main())
    assert (value, echoed, status) == (5, "via options", JobStatus.SUCCESS)
    assert len(beats) >= 3


def test_drain_runs_async_tasks(exec_log: Path) -> None:
    from nuvom.config import get_settings
    from nuvom.runtime import get_queue, get_results
    from nuvom.worker import Worker

    jobs = [t.nap.delay(0.01), t.plus.delay(1, 2)]
    assert Worker(get_settings(), get_queue(), get_results()).drain() == 2
    assert [job.get(timeout=1) for job in jobs] == [0.01, 3]


def test_cancelling_a_running_async_job_cancels_its_coroutine(
    start_worker: StartWorker, exec_log: Path
) -> None:
    # Given an async job sleeping on the loop, with a 20 s timeout
    job = t.oversleep.options(timeout_secs=20).delay("k")
    start_worker(concurrency=2)
    wait_until(lambda: job.status() is JobStatus.RUNNING, 10, "the job to run")

    # When it is cancelled, its coroutine is cancelled and the job ends cancelled
    assert job.cancel()
    wait_until(lambda: t.lines("cancelled"), 10, "the coroutine to be cancelled")
    wait_until(lambda: job._record().finished_at is not None, 10, "the job to stop")
    assert job.status() is JobStatus.CANCELLED


def test_eager_delay_of_an_async_task_inside_a_running_loop(exec_log: Path) -> None:
    from nuvom.testing.eager import eager

    async def main() -> str:
        with eager():
            return str(t.echo.delay("inline").get(timeout=1)) + str(await (await t.echo.adelay("!")).aget())

    assert asyncio.run(main()) == "inline!"
