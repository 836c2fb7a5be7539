"""``@task``, per-call ``.options``, ``.map`` and the task registry."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from nuvom import runtime, task
from nuvom.backends.memory import MemoryQueue
from nuvom.errors import DuplicateTask
from nuvom.message import JobMessage
from nuvom.record import JobStatus
from nuvom.registry import registry
from nuvom.runtime import get_queue, get_results
from nuvom.task import Task
from nuvom.testing import drain

pytestmark = pytest.mark.usefixtures("memory_backends")


def before() -> None:
    pass


def after(result: object) -> None:
    pass


def on_error(exc: BaseException) -> None:
    pass


# -- @task ----------------------------------------------------------------------------------


def test_bare_task_registers_under_the_function_name_and_a_plain_call_returns_the_value() -> None:
    @task
    def core_api_bare(a, b=2):
        """Adds."""
        return a + b

    assert isinstance(core_api_bare, Task)
    assert registry.get("core_api_bare") is core_api_bare
    assert core_api_bare(1) == 3
    assert core_api_bare(1, b=5) == 6
    assert core_api_bare.__doc__ == "Adds."
    assert core_api_bare.opts.queue == "default"
    assert core_api_bare.opts.priority == 0
    assert core_api_bare.opts.retries == 0
    assert core_api_bare.opts.store_result is True
    # a plain call goes through no queue
    assert get_queue().qsize() == 0
    assert get_results().list_jobs() == []


def test_task_called_with_every_option_keeps_them_all() -> None:
    @task(
        name="core_api.every_option",
        retries=3,
        retry_delay_secs=0.5,
        retry_backoff=False,
        retry_backoff_max_secs=9,
        timeout_secs=30,
        timeout_policy="retry",
        queue="emails",
        priority=7,
        store_result=False,
        result_ttl_secs=60,
        tags=["io", "mail"],
        description="Send one email",
        category="notifications",
        before_job=before,
        after_job=after,
        on_error=on_error,
    )
    def send(to: str) -> str:
        return f"sent {to}"

    opts = send.opts
    assert registry.get("core_api.every_option") is send
    assert send.name == "core_api.every_option"
    assert (opts.retries, opts.retry_delay_secs, opts.retry_backoff, opts.retry_backoff_max_secs) == (
        3,
        0.5,
        False,
        9,
    )
    assert (opts.timeout_secs, opts.timeout_policy) == (30, "retry")
    assert (opts.queue, opts.priority, opts.store_result, opts.result_ttl_secs) == ("emails", 7, False, 60)
    assert opts.tags == ("io", "mail")
    assert (opts.description, opts.category) == ("Send one email", "notifications")
    assert (opts.before_job, opts.after_job, opts.on_error) == (before, after, on_error)
    assert send("a@x") == "sent a@x"


def test_a_single_string_tag_is_one_tag() -> None:
    @task(tags="io")
    def core_api_one_tag():
        return None

    assert core_api_one_tag.opts.tags == ("io",)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"priority": 10}, "priority"),
        ({"priority": -1}, "priority"),
        ({"retries": -1}, "retries"),
        ({"timeout_policy": "x"}, "timeout_policy"),
        ({"timeout_secs": 0}, "timeout_secs"),
        ({"retry_delay_secs": -1}, "retry_delay_secs"),
        ({"result_ttl_secs": -5}, "result_ttl_secs"),
        ({"queue": "bad queue"}, "queue"),
        ({"queue": ""}, "queue"),
        ({"queue": "q/../../etc"}, "queue"),
        ({"name": "has space"}, "task name"),
        ({"sensitive": "yes"}, "sensitive"),
        *[pytest.param({"queue": dots}, "queue", id=f"queue-{dots}") for dots in (".", "..")],
    ],
)
def test_invalid_task_option_raises_value_error_naming_it(options: dict, named: str) -> None:
    def core_api_invalid():
        return None

    with pytest.raises(ValueError, match=named):
        task(**options)(core_api_invalid)
    assert registry.get("core_api_invalid") is None


def test_unknown_task_option_raises_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match="retry_count"):
        task(retry_count=3)


def test_sensitive_task_marks_its_records_when_sent_and_when_run() -> None:
    @task(sensitive=True)
    def core_api_sensitive(password):
        return len(password)

    # A job's queued record carries the mark
    job = core_api_sensitive.delay("hunter2")
    record = get_results().get_full(job.id)
    assert record is not None and record.sensitive
    # and a record written by a sender that did not know the task gets it from the worker
    get_results().save(record.replace(sensitive=False))
    drain()
    record = get_results().get_full(job.id)
    assert record is not None and record.sensitive and record.status is JobStatus.SUCCESS


# -- .options(...) ----------------------------------------------------------------------------


@task(name="core_api_opt")
def core_api_opt(*args, **kwargs):
    return [list(args), kwargs]


def claim_one(queue_name: str = "default"):
    leases = get_queue().pop_batch(1, queues=[queue_name], timeout=0, lease_secs=30)
    assert len(leases) == 1, f"expected one job in queue {queue_name!r}"
    return leases[0]


def test_options_are_recorded_on_the_record_and_the_envelope() -> None:
    # When
    job = core_api_opt.options(
        queue="special", priority=3, job_id="my-job.1", retries=4, timeout_secs=12.5
    ).delay(1, k="v")

    # Then: the record
    assert job.id == "my-job.1"
    record = get_results().get_full("my-job.1")
    assert record is not None
    assert record.status is JobStatus.QUEUED
    assert (record.queue, record.priority, record.max_retries, record.eta) == ("special", 3, 4, None)
    assert job.info()["args"] == [1]
    assert job.info()["kwargs"] == {"k": "v"}
    # Then: the envelope and the message inside it
    assert get_queue().qsize("default") == 0
    lease = claim_one("special")
    assert (lease.envelope.id, lease.envelope.queue, lease.envelope.priority) == ("my-job.1", "special", 3)
    message = JobMessage.decode(lease.envelope.payload)
    assert (message.id, message.queue, message.priority) == ("my-job.1", "special", 3)
    assert (message.retries, message.timeout_secs) == (4, 12.5)
    assert message.decode_call() == ([1], {"k": "v"})


def test_options_default_to_the_task_options() -> None:
    @task(queue="core_api_q", priority=6, retries=2)
    def core_api_defaults():
        return None

    job = core_api_defaults.delay()

    record = get_results().get_full(job.id)
    assert (record.queue, record.priority, record.max_retries) == ("core_api_q", 6, 2)
    message = JobMessage.decode(claim_one("core_api_q").envelope.payload)
    assert (message.retries, message.timeout_secs) == (None, None)


@pytest.mark.parametrize("countdown", [60, timedelta(seconds=60)], ids=["seconds", "timedelta"])
def test_countdown_schedules_the_job(countdown: object) -> None:
    before_send = time.time()

    job = core_api_opt.options(countdown=countdown).delay()

    record = get_results().get_full(job.id)
    assert record.status is JobStatus.SCHEDULED
    assert job.status() is JobStatus.SCHEDULED
    assert before_send + 60 <= record.eta <= time.time() + 60
    assert get_queue().pop_batch(1, queues=["default"], timeout=0, lease_secs=30) == []
    assert get_queue().stats().scheduled == 1


def test_future_eta_schedules_the_job_at_that_instant() -> None:
    eta = datetime.now(timezone.utc) + timedelta(hours=1)

    job = core_api_opt.options(eta=eta).delay()

    record = get_results().get_full(job.id)
    assert record.status is JobStatus.SCHEDULED
    assert record.eta == eta.timestamp()
    assert get_queue().pop_batch(1, queues=["default"], timeout=0, lease_secs=30) == []


def test_past_eta_is_queued_and_claimable_now() -> None:
    eta = datetime.now(timezone.utc) - timedelta(minutes=5)

    job = core_api_opt.options(eta=eta).delay()

    assert job.status() is JobStatus.QUEUED
    assert claim_one().envelope.eta == eta.timestamp()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"countdown": -1}, "countdown"),
        ({"countdown": 1, "eta": datetime.now(timezone.utc)}, "countdown or eta"),
        ({"eta": "tomorrow"}, "eta"),
        ({"queue": "no spaces"}, "queue"),
        ({"priority": 10}, "priority"),
        ({"job_id": "bad id!"}, "job_id"),
        ({"job_id": "../escape"}, "job_id"),
        ({"retries": -1}, "retries"),
        ({"timeout_secs": 0}, "timeout_secs"),
        pytest.param({"queue": ".."}, "queue", id="queue-.."),
        pytest.param(
            {"timeout_secs": "soon"},
            "timeout_secs",
        ),
        pytest.param(
            {"retries": True},
            "retries",
        ),
    ],
)
def test_invalid_call_option_raises_value_error_naming_it(options: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        core_api_opt.options(**options).delay()
    assert get_queue().qsize() == 0


# -- .map -------------------------------------------------------------------------------------


class CountingQueue(MemoryQueue):
    """The real memory queue, counting how often the client calls it."""

    def __init__(self) -> None:
        super().__init__()
        self.enqueue_many_batches: list[int] = []

    def enqueue_many(self, envelopes):
        self.enqueue_many_batches.append(len(envelopes))
        super().enqueue_many(envelopes)


@pytest.fixture
def counting_queue(monkeypatch: pytest.MonkeyPatch) -> CountingQueue:
    runtime.reset()
    counting = CountingQueue()
    monkeypatch.setattr(runtime, "_queue", counting)
    assert get_queue() is counting
    return counting


def test_map_reads_tuples_as_args_dicts_as_kwargs_and_anything_else_as_one_argument(
    counting_queue: CountingQueue,
) -> None:
    items = [(1, 2), {"a": 1, "b": 2}, "abc", [1, 2, 3], 7, None, ((1, 2),)]

    jobs = core_api_opt.map(items)

    assert counting_queue.enqueue_many_batches == [len(items)]
    assert len({job.id for job in jobs}) == len(items)
    calls = [(job.info()["args"], job.info()["kwargs"]) for job in jobs]
    assert calls == [
        ([1, 2], {}),
        ([], {"a": 1, "b": 2}),
        (["abc"], {}),  # a str is one argument, never spread into characters
        ([[1, 2, 3]], {}),  # a list is one argument
        ([7], {}),
        ([None], {}),
        ([(1, 2)], {}),
    ]
    # and the task really receives them that way
    assert drain() == len(items)
    assert [job.get(timeout=1) for job in jobs] == [
        [[1, 2], {}],
        [[], {"a": 1, "b": 2}],
        [["abc"], {}],
        [[[1, 2, 3]], {}],
        [[7], {}],
        [[None], {}],
        [[(1, 2)], {}],
    ]


def test_map_of_a_generator_is_one_enqueue_many_call(counting_queue: CountingQueue) -> None:
    jobs = core_api_opt.map(i for i in range(25))

    assert counting_queue.enqueue_many_batches == [25]
    assert counting_queue.qsize() == 25
    assert [job.info()["args"] for job in jobs] == [[i] for i in range(25)]


def test_options_map_applies_the_options_to_every_job(counting_queue: CountingQueue) -> None:
    jobs = core_api_opt.options(queue="bulk", priority=2, retries=5).map(["x", "y"])

    assert counting_queue.enqueue_many_batches == [2]
    for job in jobs:
        record = get_results().get_full(job.id)
        assert (record.queue, record.priority, record.max_retries) == ("bulk", 2, 5)
    assert counting_queue.qsize("bulk") == 2


def test_map_with_job_id_raises_and_stores_nothing(counting_queue: CountingQueue) -> None:
    with pytest.raises(ValueError, match="job_id"):
        core_api_opt.options(job_id="one").map([1, 2])

    assert counting_queue.enqueue_many_batches == []
    assert get_results().list_jobs() == []


# -- registry ---------------------------------------------------------------------------------


def first_impl():
    return "first"


def second_impl():
    return "second"


def test_a_different_function_under_a_taken_name_raises_duplicate_task() -> None:
    original = task(name="core_api_dup")(first_impl)

    with pytest.raises(DuplicateTask) as info:
        task(name="core_api_dup")(second_impl)

    assert info.value.name == "core_api_dup"
    assert registry.get("core_api_dup") is original


def test_force_replaces_the_registered_task() -> None:
    task(name="core_api_force")(first_impl)

    replacement = task(name="core_api_force", force=True)(second_impl)

    assert registry.get("core_api_force") is replacement
    assert registry.get("core_api_force")() == "second"


def test_silent_keeps_the_first_task() -> None:
    original = task(name="core_api_silent")(first_impl)

    task(name="core_api_silent", silent=True)(second_impl)

    assert registry.get("core_api_silent") is original
    assert registry.get("core_api_silent")() == "first"


def test_registering_the_same_function_again_is_fine() -> None:
    task(name="core_api_same")(first_impl)

    again = task(name="core_api_same", retries=2)(first_impl)

    assert registry.get("core_api_same") is again
    assert registry.get("core_api_same").opts.retries == 2


def test_concurrent_registration_of_distinct_names_keeps_them_all() -> None:
    threads_count, per_thread = 16, 40
    barrier = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def register_many(thread_index: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):

                def body(i=i):
                    return i

                body.__qualname__ = f"core_api_threaded_{thread_index}_{i}"
                task(name=f"core_api_threaded.{thread_index}.{i}")(body)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=register_many, args=(t,)) for t in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    names = {n for n in registry.all() if n.startswith("core_api_threaded.")}
    assert len(names) == threads_count * per_thread
    assert registry.get("core_api_threaded.15.39")() == 39
