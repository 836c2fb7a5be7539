"""``@task``: turn a function into a task that can be called, delayed, mapped and scheduled."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, Literal, ParamSpec, TypeVar, overload

from .flow import LimitKey, check_concurrency_limit, check_limit_key, check_rate_limit
from .names import check_name
from .registry import registry

if TYPE_CHECKING:
    from .job import Job
    from .scheduling.api import Schedule
    from .workflows.signature import Signature

P = ParamSpec("P")
R = TypeVar("R")

TimeoutPolicy = Literal["fail", "retry", "ignore"]
_POLICIES = ("fail", "retry", "ignore")


def _check_priority(priority: int) -> int:
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 9:
        raise ValueError(f"priority {priority!r} is not valid: use an int from 0 (first) to 9 (last)")
    return priority


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_non_negative(option: str, value: float | None) -> None:
    if value is not None and (not _is_number(value) or value < 0):
        raise ValueError(f"{option} {value!r} is not valid: use a number >= 0")


def _check_timeout(value: float | None) -> None:
    if value is not None and (not _is_number(value) or value <= 0):
        raise ValueError(f"timeout_secs {value!r} is not valid: use a number > 0")


def _check_retries(value: int | None) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ValueError(f"retries {value!r} is not valid: use an int >= 0")


@dataclass(frozen=True)
class TaskOptions:
    """Options given to ``@task``. ``None`` means the setting's default."""

    name: str
    retries: int = 0
    retry_delay_secs: float | None = None
    retry_backoff: bool = True
    retry_backoff_max_secs: float | None = None
    timeout_secs: float | None = None
    timeout_policy: TimeoutPolicy | None = None
    queue: str = "default"
    priority: int = 0
    store_result: bool = True
    result_ttl_secs: float | None = None
    tags: tuple[str, ...] = ()
    description: str = ""
    category: str = "default"
    #: Arguments and results are not shown by consoles (``nuvom-dashboard``).
    sensitive: bool = False
    #: At most this many starts per window across every worker: ``"10/s"``, ``"100/m"``, ``"1000/h"``.
    rate_limit: str | None = None
    #: At most this many jobs of the task (of each ``limit_key`` value) running at once anywhere.
    concurrency_limit: int | None = None
    #: Limits count per value of this argument (its name) or of this function of the arguments.
    limit_key: LimitKey | None = None
    before_job: Callable[[], object] | None = None
    after_job: Callable[[Any], object] | None = None
    on_error: Callable[[BaseException], object] | None = None

    def __post_init__(self) -> None:
        check_name("task name", self.name)
        check_name("queue", self.queue)
        _check_priority(self.priority)
        _check_retries(self.retries)
        for option in ("retry_delay_secs", "retry_backoff_max_secs", "result_ttl_secs"):
            _check_non_negative(option, getattr(self, option))
        _check_timeout(self.timeout_secs)
        if self.timeout_policy is not None and self.timeout_policy not in _POLICIES:
            raise ValueError(
                f"timeout_policy {self.timeout_policy!r} is not valid: use one of {', '.join(_POLICIES)}"
            )
        if not isinstance(self.sensitive, bool):
            raise ValueError(f"sensitive {self.sensitive!r} is not valid: use True or False")
        if not all(isinstance(tag, str) for tag in self.tags):
            raise ValueError(f"tags {list(self.tags)!r} is not valid: use a list of strings")
        check_rate_limit(self.rate_limit)
        check_concurrency_limit(self.concurrency_limit)


@dataclass(frozen=True)
class CallOptions:
    """Per-call options from ``.options(...)``."""

    countdown: float | None = None
    eta: datetime | None = None
    queue: str | None = None
    priority: int | None = None
    job_id: str | None = None
    retries: int | None = None
    timeout_secs: float | None = None
    #: Seconds during which the same call (task name and arguments) is enqueued only once.
    unique_for: float | None = None
    #: Overrides the task's ``rate_limit`` for this call's jobs.
    rate_limit: str | None = None

    def __post_init__(self) -> None:
        if self.countdown is not None and self.eta is not None:
            raise ValueError("give countdown or eta, not both")
        _check_non_negative("countdown", self.countdown)
        if self.eta is not None and not isinstance(self.eta, datetime):
            raise ValueError(f"eta {self.eta!r} is not valid: use a datetime")
        if self.queue is not None:
            check_name("queue", self.queue)
        if self.priority is not None:
            _check_priority(self.priority)
        if self.job_id is not None:
            check_name("job_id", self.job_id)
        _check_retries(self.retries)
        _check_timeout(self.timeout_secs)
        if self.unique_for is not None and (not _is_number(self.unique_for) or self.unique_for <= 0):
            raise ValueError(f"unique_for {self.unique_for!r} is not valid: use a number of seconds > 0")
        check_rate_limit(self.rate_limit)

    @property
    def unique(self) -> bool:
        """True when the call names one job: by ``job_id`` or by ``unique_for``."""
        return self.job_id is not None or self.unique_for is not None


def map_item_to_call(item: object) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """How ``.map`` reads one item: a tuple is ``*args``, a dict ``**kwargs``, anything else one argument."""
    if isinstance(item, tuple):
        return item, {}
    if isinstance(item, dict):
        return (), dict(item)
    return (item,), {}


class TaskCall(Generic[P, R]):
    """A task bound to per-call options: ``task.options(...)``."""

    def __init__(self, task: Task[P, R], options: CallOptions) -> None:
        self.task = task
        self.call_options = options

    def delay(self, *args: P.args, **kwargs: P.kwargs) -> Job:
        """Enqueue one call with these options."""
        from .client import enqueue_calls

        return enqueue_calls(self.task, [(args, kwargs)], self.call_options)[0]

    async def adelay(self, *args: P.args, **kwargs: P.kwargs) -> Job:
        """``delay`` for asyncio code: the enqueue runs on a thread, never blocking the loop."""
        return await asyncio.to_thread(self.delay, *args, **kwargs)

    def map(self, items: Iterable[object]) -> list[Job]:
        """Enqueue one call per item, in one backend round trip where the backend can."""
        from .client import enqueue_calls

        return enqueue_calls(self.task, [map_item_to_call(i) for i in items], self.call_options)

    def schedule(
        self,
        *args: Any,
        at: datetime | None = None,
        in_: timedelta | None = None,
        interval: float | timedelta | None = None,
        cron: str | None = None,
        timezone_name: str = "UTC",
        schedule_id: str | None = None,
        **kwargs: Any,
    ) -> Schedule:
        """Run this call later or repeatedly; ``nuvom runscheduler`` sends each fire as a job.

        Args:
            *args: the call's positional arguments, as for ``.delay()``.
            at: one fire at this timezone-aware datetime (a naive one is rejected).
            in_: one fire after this timedelta (``timedelta(0)``: as soon as a scheduler runs).
            interval: a fire every this many seconds (or timedelta), the first one interval from
                now; missed fires are coalesced and the phase is kept.
            cron: a fire at each match of this 5-field expression, read in ``timezone_name``.
            timezone_name: the IANA timezone of ``cron``.
            schedule_id: a stable id that makes scheduling idempotent: the same schedule again
                is kept as it is (with its next run), a changed one replaces it.
            **kwargs: the call's keyword arguments, as for ``.delay()``.

        Raises:
            ValueError: unless exactly one of ``at``, ``in_``, ``interval``, ``cron`` is given, or
                naming a bad cron expression, timezone, interval or id.
            SerializationError: naming the argument that cannot be encoded.
        """
        from .scheduling.api import create_schedule

        return create_schedule(
            self.task,
            self.call_options,
            args,
            kwargs,
            at=at,
            in_=in_,
            interval=interval,
            cron=cron,
            timezone_name=timezone_name,
            schedule_id=schedule_id,
        )


class Task(Generic[P, R]):
    """A registered task. Call it to run it here; ``.delay()`` to run it on a worker."""

    def __init__(self, func: Callable[P, R], options: TaskOptions) -> None:
        self.func = func
        self.opts = options
        self.__doc__ = func.__doc__
        self.__name__ = getattr(func, "__name__", options.name)
        self.__wrapped__ = func

    @property
    def name(self) -> str:
        """The registered name."""
        return self.opts.name

    @property
    def origin(self) -> str:
        """``module:qualname`` of the function."""
        return f"{self.func.__module__}:{self.func.__qualname__}"

    @property
    def is_async(self) -> bool:
        """True for an ``async def`` task."""
        return inspect.iscoroutinefunction(self.func)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the function here and now, with no queue."""
        return self.func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Task {self.name} queue={self.opts.queue!r}>"

    def options(
        self,
        *,
        countdown: float | timedelta | None = None,
        eta: datetime | None = None,
        queue: str | None = None,
        priority: int | None = None,
        job_id: str | None = None,
        retries: int | None = None,
        timeout_secs: float | None = None,
        unique_for: float | None = None,
        rate_limit: str | None = None,
    ) -> TaskCall[P, R]:
        """Bind per-call options; then ``.delay(...)`` or ``.map(...)``.

        Args:
            countdown: seconds (or a timedelta) from now before the job may run.
            eta: when the job may run; a naive datetime is read as local time.
            queue: the queue to send to, instead of the task's.
            priority: 0 (first) to 9 (last), instead of the task's.
            job_id: the job's id instead of a random one (letters, digits, ``_ . : -``); while a
                job with this id waits or runs, sending it again returns that job.
            retries: instead of the task's ``retries``.
            timeout_secs: instead of the task's ``timeout_secs``.
            unique_for: seconds during which the same call (task name and arguments) is enqueued
                once: the job id is derived from them, and sending it again within the window
                returns the first job.
            rate_limit: instead of the task's ``rate_limit`` (``"10/s"``), for these jobs.

        Raises:
            ValueError: naming the option with a bad value.
        """
        if isinstance(countdown, timedelta):
            countdown = countdown.total_seconds()
        options = CallOptions(
            countdown, eta, queue, priority, job_id, retries, timeout_secs, unique_for, rate_limit
        )
        return TaskCall(self, options)

    def delay(self, *args: P.args, **kwargs: P.kwargs) -> Job:
        """Enqueue a call now and return its :class:`~nuvom.job.Job`.

        Raises:
            SerializationError: naming the argument that cannot be encoded and its type.
        """
        return TaskCall(self, CallOptions()).delay(*args, **kwargs)

    async def adelay(self, *args: P.args, **kwargs: P.kwargs) -> Job:
        """``await task.adelay(...)``: :meth:`delay` for asyncio code, run on a thread."""
        return await TaskCall(self, CallOptions()).adelay(*args, **kwargs)

    def s(self, *args: P.args, **kwargs: P.kwargs) -> Signature:
        """A signature of this call, for groups, chains and callbacks.

        In a chain the previous step's result is prepended to ``args``.

        Raises:
            SerializationError: naming the argument that cannot be encoded.
        """
        from .workflows.signature import Signature

        return Signature.of(self, args, kwargs, immutable=False)

    def si(self, *args: P.args, **kwargs: P.kwargs) -> Signature:
        """An immutable signature: the previous step's result is not prepended."""
        from .workflows.signature import Signature

        return Signature.of(self, args, kwargs, immutable=True)

    def map(self, items: Iterable[object]) -> list[Job]:
        """Enqueue one call per item (tuple → ``*args``, dict → ``**kwargs``, else one argument)."""
        return TaskCall(self, CallOptions()).map(items)

    def schedule(
        self,
        *args: Any,
        at: datetime | None = None,
        in_: timedelta | None = None,
        interval: float | timedelta | None = None,
        cron: str | None = None,
        timezone_name: str = "UTC",
        schedule_id: str | None = None,
        **kwargs: Any,
    ) -> Schedule:
        """Run a call later or repeatedly: exactly one of ``at``, ``in_``, ``interval``, ``cron``.

        See :meth:`TaskCall.schedule`; ``task.options(queue=..., priority=..., retries=...,
        timeout_secs=...).schedule(...)`` sets per-schedule options.
        """
        return TaskCall(self, CallOptions()).schedule(
            *args,
            at=at,
            in_=in_,
            interval=interval,
            cron=cron,
            timezone_name=timezone_name,
            schedule_id=schedule_id,
            **kwargs,
        )


@overload
def task(func: Callable[P, R], /) -> Task[P, R]: ...


@overload
def task(
    func: None = None,
    /,
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay_secs: float | None = None,
    retry_backoff: bool = True,
    retry_backoff_max_secs: float | None = None,
    timeout_secs: float | None = None,
    timeout_policy: TimeoutPolicy | None = None,
    queue: str = "default",
    priority: int = 0,
    store_result: bool = True,
    result_ttl_secs: float | None = None,
    tags: Iterable[str] | None = None,
    description: str = "",
    category: str = "default",
    sensitive: bool = False,
    before_job: Callable[[], object] | None = None,
    after_job: Callable[[Any], object] | None = None,
    on_error: Callable[[BaseException], object] | None = None,
    force: bool = False,
    silent: bool = False,
) -> Callable[[Callable[P, R]], Task[P, R]]: ...


def task(
    func: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    tags: Iterable[str] | None = None,
    force: bool = False,
    silent: bool = False,
    **options: Any,
) -> Task[P, R] | Callable[[Callable[P, R]], Task[P, R]]:
    """Make a function a task, bare (``@task``) or with options (``@task(retries=3)``).

    Args:
        func: the function, when used bare.
        name: the registered name (default: the function's name).
        tags: labels for listing and filtering.
        force: replace another task registered under the same name.
        silent: keep the other task registered under the same name, without raising.
        **options: the fields of :class:`TaskOptions`.

    Raises:
        ValueError: naming an option with a bad value.
        DuplicateTask: when another function holds the name (unless ``force``/``silent``).
    """

    def decorate(fn: Callable[P, R]) -> Task[P, R]:
        tag_tuple = (tags,) if isinstance(tags, str) else tuple(tags or ())
        opts = TaskOptions(name=name or fn.__name__, tags=tag_tuple, **options)
        check_limit_key(opts.limit_key, fn, opts.name)
        new = Task(fn, opts)
        registry.register(new, force=force, silent=silent)
        return new

    unknown = set(options) - {f.name for f in dataclasses.fields(TaskOptions)}
    if unknown:
        raise TypeError(f"@task got unknown options: {', '.join(sorted(unknown))}")
    return decorate(func) if func is not None else decorate
