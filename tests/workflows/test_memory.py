"""Workflow logic on the memory backend, run with ``nuvom.testing.drain``."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from nuvom import JobStatus, chain, get_group, get_job, group
from nuvom.errors import JobCancelled, JobFailed, JobNotFound
from nuvom.runtime import get_results
from nuvom.testing import drain, eager
from nuvom.workflows import Signature

from .conftest import Calls

pytestmark = pytest.mark.timeout(30)


def test_signature_round_trips_and_delays(tasks: SimpleNamespace) -> None:
    sig = tasks.add.s(1, b=2).options(priority=3).on_success(tasks.note.s("x")).on_error(tasks.note.si())
    assert Signature.from_wire(sig.to_wire()) == sig
    assert repr(tasks.add.si(1, 2)) == "wf.add.si(1, 2)"
    job = sig.delay()
    drain()
    assert job.get(timeout=1) == 3
    assert get_job(job.id).info()["priority"] == 3


def test_group_results_in_input_order_and_failed_member_named(tasks: SimpleNamespace) -> None:
    bad = (7, 40, 93)
    handle = group(tasks.fail_if.s(i, bad=bad) for i in range(100)).delay()
    assert handle.status() is JobStatus.QUEUED
    drain()
    assert handle.status() is JobStatus.FAILED
    with pytest.raises(JobFailed) as failed:
        handle.get(timeout=2)
    assert failed.value.index == 7
    assert "member 7" in str(failed.value) and failed.value.error_type == "ZeroDivisionError"
    fine = group([tasks.fail_if.s(i) for i in range(20)]).delay()
    drain()
    assert fine.status() is JobStatus.SUCCESS
    assert fine.get(timeout=2) == [i * 10 for i in range(20)]
    again = get_group(fine.id)
    assert again.get(timeout=1) == [i * 10 for i in range(20)] and len(again.jobs) == 20
    with pytest.raises(JobNotFound):
        get_group(fine.jobs[0].id)  # a job is not a group


def test_chain_passes_results_and_none(tasks: SimpleNamespace, calls: Calls) -> None:
    handle = chain(
        tasks.add.s(1, 2), tasks.add.s(10), tasks.nothing.s(), tasks.echo.s("tail"), tasks.echo.s()
    ).delay()
    assert handle.status() is JobStatus.QUEUED
    drain()
    assert handle.status() is JobStatus.SUCCESS
    assert handle.get(timeout=1) == [[None, "tail"]]
    assert calls.of("nothing") == [(13,)]
    assert calls.of("echo") == [(None, "tail"), ([None, "tail"],)]


def test_failed_step_stops_the_chain_and_names_the_step(tasks: SimpleNamespace, calls: Calls) -> None:
    handle = tasks.add.s(1, 1).then(tasks.boom.s(), tasks.note.s("never")).delay()
    drain()
    assert handle.status() is JobStatus.FAILED
    with pytest.raises(JobFailed) as failed:
        handle.get(timeout=1)
    assert failed.value.index == 1 and "step 1 (wf.boom)" in str(failed.value)
    assert calls.of("boom") == [(2,), (2,)]  # its retry ran, then the chain stopped
    assert calls.of("note") == []
    assert get_results().get_full(handle.id).status is JobStatus.FAILED  # type: ignore[union-attr]


def test_chord_passes_the_list_of_results(tasks: SimpleNamespace, calls: Calls) -> None:
    handle = chain(tasks.add.s(1, 1), group(tasks.add.s(i) for i in range(4)), tasks.total.s()).delay()
    drain()
    assert handle.get(timeout=1) == sum(2 + i for i in range(4))
    assert calls.of("total") == [([2, 3, 4, 5],)]
    ends_with_group = chain(tasks.add.s(0, 1), group(tasks.add.s(5), tasks.add.si(1, 1))).delay()
    drain()
    assert ends_with_group.get(timeout=1) == [6, 2]


def test_failed_member_stops_the_chord(tasks: SimpleNamespace, calls: Calls) -> None:
    handle = chain(group(tasks.fail_if.s(1), tasks.fail_if.s(2, bad=(2,))), tasks.total.s()).delay()
    drain()
    assert handle.status() is JobStatus.FAILED
    with pytest.raises(JobFailed) as failed:
        handle.get(timeout=1)
    assert failed.value.index == 1 and "step 0" in str(failed.value)
    assert calls.of("total") == []


def test_callbacks_fire_once_with_result_or_failed_id(tasks: SimpleNamespace, calls: Calls) -> None:
    ok = tasks.add.s(2, 3).on_success(tasks.note.s("ok")).on_error(tasks.note.s("err")).delay()
    bad = tasks.boom.s("x").on_success(tasks.note.s("ok")).on_error(tasks.note.s("err")).delay()
    drain()
    assert sorted(calls.of("note"), key=repr) == sorted([(5, "ok"), (bad.id, "err")], key=repr)
    assert ok.get(timeout=1) == 5


def test_polling_never_writes(tasks: SimpleNamespace) -> None:
    g = group(tasks.add.s(i, i) for i in range(3)).delay()
    c = chain(tasks.add.s(1, 1), tasks.add.s(1)).delay()
    drain()
    results = get_results()
    before = {r.id: r for r in results.list_jobs(limit=1000)}
    for _ in range(5):
        g.status(), g.get(timeout=1), c.status(), c.get(timeout=1), get_group(g.id).status()
    assert {r.id: r for r in results.list_jobs(limit=1000)} == before


def test_cancel_queued_job_group_and_chain(tasks: SimpleNamespace, calls: Calls) -> None:
    job = tasks.add.delay(1, 1)
    assert job.cancel() is True
    g = group(tasks.add.s(i, 0) for i in range(3)).delay()
    assert g.cancel() == 3
    c = chain(tasks.add.s(1, 1), tasks.add.s(1)).delay()
    assert c.cancel() == 1
    drain()
    assert calls.of("add") == []
    assert job.status() is JobStatus.CANCELLED and g.status() is JobStatus.CANCELLED
    assert c.status() is JobStatus.CANCELLED
    with pytest.raises(JobCancelled):
        g.get(timeout=1)
    with pytest.raises(JobCancelled):
        c.get(timeout=1)
    assert job.cancel() is False  # finished: nothing to cancel


def test_retry_failed_job_continues_attempts_and_resumes_chain(tasks: SimpleNamespace, calls: Calls) -> None:
    flaky_state = {"fail": True}

    from nuvom import task

    @task(name="wf.flaky")
    def flaky(value: int) -> int:
        if flaky_state["fail"]:
            raise RuntimeError("down")
        return value + 100

    handle = chain(tasks.add.s(1, 1), flaky.s(), tasks.add.s(1)).delay()
    drain()
    assert handle.status() is JobStatus.FAILED
    step = handle.jobs[1]
    assert step.info()["attempts"] == 1
    assert tasks.add.delay(1, 1).retry() is False  # queued: not retried
    flaky_state["fail"] = False
    assert step.retry() is True
    drain()
    assert step.info()["attempts"] == 2
    assert handle.get(timeout=1) == 103


def test_unique_jobs(tasks: SimpleNamespace) -> None:
    first = tasks.add.options(job_id="the-one").delay(1, 2)
    assert tasks.add.options(job_id="the-one").delay(5, 5) == first
    same = tasks.add.options(unique_for=60).delay(3, 4)
    assert tasks.add.options(unique_for=60).delay(3, 4) == same
    assert tasks.add.options(unique_for=60).delay(3, 5) != same
    assert tasks.add.s(3, 4).options(unique_for=60).delay() == same
    drain()
    assert first.get(timeout=1) == 3 and same.get(timeout=1) == 7
    assert tasks.add.options(unique_for=60).delay(3, 4) == same  # within the window, even finished
    again = tasks.add.options(job_id="the-one").delay(5, 5)  # finished: sent again
    drain()
    assert again.get(timeout=1) == 10
    with pytest.raises(ValueError, match="unique_for"):
        tasks.add.options(unique_for=0)


def test_current_job_outside_a_task_raises() -> None:
    from nuvom import current_job

    with pytest.raises(RuntimeError, match="inside a running task"):
        current_job()


def test_eager_mode_runs_workflows(tasks: SimpleNamespace, calls: Calls) -> None:
    with eager():
        handle = chain(tasks.add.s(1, 1), group(tasks.add.s(i) for i in range(3)), tasks.total.s()).delay()
        assert handle.get(timeout=1) == 9
        tasks.boom.s().on_error(tasks.note.s("eager")).delay()
        g = group(tasks.add.s(1, 1), tasks.add.s(2, 2)).delay()
        assert g.get(timeout=1) == [2, 4]
    assert calls.of("note")[0][1] == "eager"


def test_bad_compositions_are_refused(tasks: SimpleNamespace) -> None:
    with pytest.raises(ValueError, match="at least one"):
        group()
    with pytest.raises(ValueError, match="drop job_id"):
        chain(tasks.add.s(1, 1).options(job_id="x"))
    with pytest.raises(TypeError, match="signatures"):
        chain(tasks.add)  # type: ignore[arg-type]


def test_current_job_inside_sync_and_async_tasks(memory_backends: None) -> None:
    from nuvom import current_job, task

    @task(name="wf.whoami")
    def whoami() -> list[object]:
        job = current_job()
        return [job.id, job.task_name, job.attempt, job.cancelled]

    @task(name="wf.whoami_async")
    async def whoami_async() -> str:
        return current_job().id

    sync_job, async_job = whoami.delay(), whoami_async.delay()
    drain()
    assert sync_job.get(timeout=1) == [sync_job.id, "wf.whoami", 1, False]
    assert async_job.get(timeout=1) == async_job.id


def test_a_task_raising_job_cancelled_ends_cancelled(memory_backends: None, tasks: SimpleNamespace) -> None:
    from nuvom import task

    @task(name="wf.gives_up", retries=3)
    def gives_up() -> None:
        raise JobCancelled(current_job_id())

    def current_job_id() -> str:
        from nuvom import current_job

        return current_job().id

    job = gives_up.s().on_error(tasks.note.s("err")).delay()
    drain()
    assert job.status() is JobStatus.CANCELLED and job.info()["attempts"] == 1  # no retry, no on_error
    assert get_results().list_jobs(limit=100, status=JobStatus.QUEUED) == []
