"""The one send path: a send that fails leaves no record behind, or puts back the one it replaced.

Every kind of send is covered: ``.delay()``, ``Job.retry()``, a callback and a chain step sent by
a worker continuing a workflow (whose redelivery must send them again), and a chord's group.
The queue is the real memory or file queue, made to fail its next ``enqueue_many``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from nuvom import Job, JobStatus, chain, group, serialization, task
from nuvom.backends import BaseQueue, Envelope, QueueBackend
from nuvom.errors import BackendError, SendIncomplete
from nuvom.record import JobRecord
from nuvom.runtime import get_queue, get_results
from nuvom.sending import new_job_ids
from nuvom.testing import drain
from nuvom.workflows.continuation import continue_workflow
from nuvom.workflows.links import child_id, step_id

pytestmark = pytest.mark.usefixtures("backend_name")


@task(name="send_path_add")
def send_path_add(a: int, b: int) -> int:
    return a + b


@task(name="send_path_boom")
def send_path_boom() -> None:
    raise ValueError("boom")


class FailNextEnqueue:
    """Wraps this process's real queue; its next ``enqueue_many`` raises, once."""

    def __init__(self, queue: QueueBackend) -> None:
        self.queue = queue
        self.armed = False

    def enqueue_many(self, envelopes: list[Envelope]) -> None:
        if self.armed:
            self.armed = False
            raise BackendError("the queue is full (injected)")
        self.queue.enqueue_many(envelopes)

    def __getattr__(self, name: str) -> Any:
        if name == "enqueue_recorded":  # the failure must reach the plain store-then-enqueue path
            raise AttributeError(name)
        return getattr(self.queue, name)


@pytest.fixture
def failing(monkeypatch: pytest.MonkeyPatch) -> Iterator[FailNextEnqueue]:
    from nuvom import runtime

    wrapper = FailNextEnqueue(get_queue())
    monkeypatch.setattr(runtime, "_queue", wrapper)
    yield wrapper


def test_a_delay_whose_enqueue_fails_leaves_no_record(failing: FailNextEnqueue) -> None:
    failing.armed = True
    with pytest.raises(BackendError, match="injected"):
        send_path_add.options(job_id="delay-fails").delay(1, 2)
    assert get_results().get_full("delay-fails") is None
    assert send_path_add.options(job_id="delay-fails").delay(1, 2).id == "delay-fails"  # the id is free


class OneByOne(BaseQueue):
    """Wraps this process's real queue, one job at a time (``BaseQueue.enqueue_many``).

    The enqueue of job ``fail_at`` raises.
    """

    def __init__(self, queue: QueueBackend, fail_at: str) -> None:
        self.queue = queue
        self.fail_at = fail_at

    def enqueue(self, envelope: Envelope) -> None:
        if envelope.id == self.fail_at:
            raise BackendError("the queue is full (injected)")
        self.queue.enqueue(envelope)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.queue, name)


def test_a_map_enqueued_one_by_one_that_fails_halfway_keeps_the_records_of_the_jobs_queued(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a queue that enqueues one by one, and fails at the third job of five
    from nuvom import runtime

    ids = new_job_ids(5)
    monkeypatch.setattr("nuvom.sending.new_job_ids", lambda count: ids)
    real = get_queue()
    monkeypatch.setattr(runtime, "_queue", OneByOne(real, fail_at=ids[2]))

    # When a .map of five is sent
    with pytest.raises(SendIncomplete, match="injected") as caught:
        send_path_add.map([(i, i) for i in range(5)])

    # Then the two queued jobs keep their records, the others have none (before: every record
    # was removed, and the two jobs were left queued without one)
    assert caught.value.queued == frozenset(ids[:2])
    assert [get_results().get_full(job_id) is not None for job_id in ids] == [True, True, False, False, False]
    leases = real.pop_batch(10, queues=["default"], timeout=0, lease_secs=30)
    assert sorted(lease.id for lease in leases) == sorted(ids[:2])


def test_a_retry_whose_enqueue_fails_puts_the_failed_record_back(failing: FailNextEnqueue) -> None:
    job = send_path_boom.delay()
    drain()
    assert job.status() is JobStatus.FAILED
    failing.armed = True
    with pytest.raises(BackendError, match="injected"):
        job.retry()
    record = get_results().get_full(job.id)
    assert record is not None and record.status is JobStatus.FAILED  # not stuck at "queued"
    assert job.retry() is True  # and it can still be retried
    assert get_results().get_full(job.id).status is JobStatus.QUEUED  # type: ignore[union-attr]


def _finish_by_hand(job_id: str, value: Any) -> JobRecord:
    """Store the success of the queued job ``job_id``, as a worker does before it continues."""
    record = get_results().get_full(job_id)
    assert record is not None
    done = record.replace(
        status=JobStatus.SUCCESS, result=serialization.dumps(value), finished_at=time.time()
    )
    get_results().save(done)
    return done


def _continue_after_a_failed_enqueue(failing: FailNextEnqueue, done: JobRecord) -> None:
    """The worker's continuation fails to queue; the job is delivered again and continues again."""
    failing.armed = True
    with pytest.raises(BackendError, match="injected"):
        continue_workflow(done, None, get_results())
    continue_workflow(done, None, get_results())
    drain()


def test_a_callback_whose_enqueue_failed_is_sent_when_its_parent_is_delivered_again(
    failing: FailNextEnqueue,
) -> None:
    parent = send_path_add.s(1, 2).on_success(send_path_add.s(10)).delay()
    done = _finish_by_hand(parent.id, 3)
    _continue_after_a_failed_enqueue(failing, done)
    assert Job(child_id(parent.id, f"s0.{done.attempts}")).get(timeout=5) == 13


def test_a_chain_step_whose_enqueue_failed_is_sent_when_the_step_before_is_delivered_again(
    failing: FailNextEnqueue,
) -> None:
    sent = chain(send_path_add.s(1, 2), send_path_add.s(10)).delay()
    _continue_after_a_failed_enqueue(failing, _finish_by_hand(step_id(sent.id, 0), 3))
    assert sent.get(timeout=5) == 13


def test_a_chord_group_whose_enqueue_failed_is_sent_when_the_step_before_is_delivered_again(
    failing: FailNextEnqueue,
) -> None:
    sent = chain(send_path_add.s(1, 2), group(send_path_add.s(10), send_path_add.s(20))).delay()
    _continue_after_a_failed_enqueue(failing, _finish_by_hand(step_id(sent.id, 0), 3))
    assert sent.get(timeout=5) == [13, 23]


def test_new_job_ids_are_distinct_version_4_uuids() -> None:
    ids = set(new_job_ids(1000)) | {new_job_ids(1)[0] for _ in range(100)}
    assert len(ids) == 1100
    for job_id in ids:
        parsed = uuid.UUID(job_id)
        assert parsed.hex == job_id and parsed.version == 4 and parsed.variant == uuid.RFC_4122
