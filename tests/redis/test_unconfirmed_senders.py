"""Senders other than a producer's ``.delay()`` under writes no replica confirms.

With ``NUVOM_REDIS_WAIT_REPLICAS=1`` and no replica, every send is queued but raises
``WriteNotConfirmed``. A schedule fire and a workflow step are then sent once, counted sent (a
warning says the write is unconfirmed), never sent again because the first raised; a producer is
told which jobs were queued.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from types import ModuleType

import pytest

from nuvom.errors import WriteNotConfirmed
from nuvom.job import get_job
from nuvom.message import JobMessage
from nuvom.record import JobStatus
from nuvom.runtime import get_queue, get_results, get_scheduler_store
from nuvom.scheduling.runner import Scheduler, fire_job_id
from nuvom.workflows import chain
from nuvom.workflows.links import step_id

from ..e2e.helpers import WorkerProcess, wait_until
from .test_failed_sends import claim_all, unconfirmed


def test_a_due_schedule_whose_send_is_not_confirmed_fires_exactly_once(
    project: ModuleType, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a due schedule in the Redis store, and a scheduler whose sends wait for a replica
    # the server does not have
    monkeypatch.setenv("NUVOM_SCHEDULER_BACKEND", "redis")
    unconfirmed(monkeypatch)
    project.add.schedule(1, 2, in_=timedelta(0), schedule_id="once")
    store = get_scheduler_store()
    (due,) = store.list()
    scheduler = Scheduler(store)

    # When the scheduler runs, and runs again once any claim on the fire has lapsed
    now = time.time() + 0.01
    with caplog.at_level(logging.WARNING):
        assert scheduler.run_once(now) == 1
        assert scheduler.run_once(now + 60) == 0

    # Then the fire was sent once (before: it raised, stayed unmarked, and was sent again when
    # its claim lapsed), counted sent, with a warning naming its job; the schedule is done
    job_id = fire_job_id("once", due.next_run)
    assert claim_all(get_queue()) == [job_id]
    record = get_results().get_full(job_id)
    assert record is not None and record.status is JobStatus.QUEUED
    assert scheduler.sent == 1
    assert store.get("once") is None or store.get("once").next_run is None
    warning = next(r.getMessage() for r in caplog.records if "not confirmed durable" in r.getMessage())
    assert job_id in warning


@pytest.mark.timeout(60)
def test_a_chain_run_by_a_worker_whose_writes_are_not_confirmed_runs_each_step_once(
    project: ModuleType, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given a worker whose every acknowledged or durable write waits for a replica the server
    # does not have (the producer's do not)
    worker = start_worker(
        "--concurrency", "1", env={"NUVOM_REDIS_WAIT_REPLICAS": "1", "NUVOM_REDIS_WAIT_TIMEOUT_SECS": "0.05"}
    )

    # When a chain of three steps is sent
    handle = chain(project.add.s(1, 2), project.add.s(3), project.add.s(4)).delay()

    # Then it ends with the sum, each step's job ran once, and nothing is left queued or held
    # (before: storing a step's outcome raised, so the step was delivered again when its lease
    # lapsed, and the next step's send raised once more)
    assert handle.get(timeout=45) == 10
    records = [get_results().get_full(step_id(handle.id, i)) for i in range(3)]
    assert [(r.status, r.attempts) for r in records if r is not None] == [(JobStatus.SUCCESS, 1)] * 3
    wait_until(lambda: get_queue().stats().leased == 0, 10, "the last step to be acked")
    assert get_queue().qsize() == 0
    assert "not confirmed durable" in worker.output()


def test_an_unconfirmed_map_names_the_jobs_it_queued(
    project: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a producer whose sends wait for a replica the server does not have
    unconfirmed(monkeypatch)

    # When it sends a .map of five jobs
    with pytest.raises(WriteNotConfirmed) as caught:
        project.add.map([(i, i) for i in range(5)])

    # Then the error names the five jobs, in the order sent, as queued with their records
    job_ids = caught.value.job_ids
    assert len(job_ids) == 5 and sorted(claim_all(get_queue())) == sorted(job_ids)
    records = [get_results().get_full(job_id) for job_id in job_ids]
    assert [r.args for r in records if r is not None] == [
        JobMessage.encode_call([i, i], {})[0] for i in range(5)
    ]


def test_an_unconfirmed_retry_names_its_job_and_a_second_retry_sends_nothing(
    project: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a failed job
    job = project.add.delay(1, 2)
    (lease,) = get_queue().pop_batch(1, queues=["default"], timeout=0, lease_secs=60)
    record = get_results().get_full(job.id)
    assert record is not None
    get_results().save(record.replace(status=JobStatus.FAILED, finished_at=time.time()))
    get_queue().ack(lease)

    # When it is retried by a producer whose sends wait for a replica the server does not have,
    # and retried again after that raised
    unconfirmed(monkeypatch)
    with pytest.raises(WriteNotConfirmed) as caught:
        get_job(job.id).retry()
    again = get_job(job.id).retry()

    # Then the error names the job, which is queued once, and the second retry sent nothing
    assert caught.value.job_ids == (job.id,)
    assert again is False
    assert claim_all(get_queue()) == [job.id]


@pytest.mark.timeout(60)
def test_a_worker_stopping_under_unconfirmed_writes_returns_its_unstarted_jobs_and_exits_cleanly(
    project: ModuleType, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given a worker of one slot, whose acknowledged writes wait for a replica the server does
    # not have, running the first of a batch of slow jobs it claimed together
    worker = start_worker(
        "--concurrency",
        "1",
        "--batch-size",
        "4",
        env={"NUVOM_REDIS_WAIT_REPLICAS": "1", "NUVOM_REDIS_WAIT_TIMEOUT_SECS": "0.05"},
    )
    jobs = project.work.map([(f"k{i}", 1.0) for i in range(4)])
    wait_until(lambda: get_queue().stats().leased == 4, 20, "the worker to claim the batch")

    # When it is stopped
    code = worker.stop()

    # Then it exits cleanly, having finished the job it ran and given back each job it had not
    # started (before: the first unconfirmed give-back raised out of the shutdown, the others
    # stayed leased until their leases lapsed)
    assert code == 0, worker.output()
    statuses = [get_results().get_full(job.id).status for job in jobs]
    assert statuses.count(JobStatus.SUCCESS) == 1
    assert get_queue().stats().leased == 0 and get_queue().qsize() == 3
