"""``@task``: turn a function into a task that can be called, delayed, mapped and scheduled."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Generic, ParamSpec, TypeVar, overload

from .flow import LimitKey, check_limit_key
from .job import Job
from .options import CallOptions, TaskOptions, TimeoutPolicy
from .registry import registry
from .scheduling.api import Schedule, create_schedule
from .sending import send_calls
from .workflows.canvas import Signature

P = ParamSpec("P")
R = TypeVar("R")


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
        return self._send([(args, kwargs)])[0]

    async def adelay(self, *args: P.args, **kwargs: P.kwargs) -> Job:
        """``delay`` for asyncio code: the enqueue runs on a thread, never blocking the loop."""
        import asyncio  # loaded already in async code; ``import nuvom`` does not pay for it

        return await asyncio.to_thread(self.delay, *args, **kwargs)

    def map(self, items: Iterable[object]) -> list[Job]:
        """Enqueue one call per item, in one backend round trip where the backend can."""
        return self._send([map_item_to_call(i) for i in items])

    def _send(self, calls: list[tuple[tuple[Any, ...], dict[str, Any]]]) -> list[Job]:
        name = self.task.name
        return [Job(job_id, name) for job_id in send_calls(self.task.opts, calls, self.call_options)]

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
        return create_schedule(
            self.task.opts,
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
        return Signature.of(self.opts, args, kwargs, immutable=False)

    def si(self, *args: P.args, **kwargs: P.kwargs) -> Signature:
        """An immutable signature: the previous step's result is not prepended."""
        return Signature.of(self.opts, args, kwargs, immutable=True)

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
    rate_limit: str | None = None,
    concurrency_limit: int | None = None,
    limit_key: LimitKey | None = None,
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
