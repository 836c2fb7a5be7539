"""Running one attempt of a job, and turning its outcome into a stored record.

Shared by the worker and by eager mode, so both take exactly the same path.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
import logging
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import serialization
from ..backends import Lease
from ..cancellation import CurrentJob, running
from ..config import Settings
from ..errors import JobCancelled, JobTimeout, Retry, SerializationError
from ..message import JobMessage
from ..record import ErrorInfo, JobRecord, JobStatus
from ..registry import registry
from ..task import Task
from .retry import backoff_delay

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Effective:
    """A job's options after per-call overrides, task options and settings are combined."""

    max_retries: int
    timeout_secs: float
    timeout_policy: str
    retry_delay_secs: float
    retry_backoff: bool
    retry_backoff_max_secs: float
    store_result: bool
    result_ttl_secs: float | None

    @classmethod
    def of(cls, task: Task[Any, Any], message: JobMessage, settings: Settings) -> Effective:
        opts = task.opts
        return cls(
            max_retries=message.retries if message.retries is not None else opts.retries,
            timeout_secs=message.timeout_secs or opts.timeout_secs or settings.job_timeout_secs,
            timeout_policy=opts.timeout_policy or settings.timeout_policy,
            retry_delay_secs=(
                opts.retry_delay_secs if opts.retry_delay_secs is not None else settings.retry_delay_secs
            ),
            retry_backoff=opts.retry_backoff,
            retry_backoff_max_secs=(
                opts.retry_backoff_max_secs
                if opts.retry_backoff_max_secs is not None
                else settings.retry_backoff_max_secs
            ),
            store_result=opts.store_result,
            result_ttl_secs=opts.result_ttl_secs,
        )


@dataclass(frozen=True)
class Outcome:
    """What one attempt produced: an encoded result, or an error."""

    result: bytes | None = None
    error: ErrorInfo | None = None
    #: The task asked for this delay with ``raise Retry(delay=...)``.
    requested_delay: float | None = None
    #: A failure that retrying cannot fix (e.g. a result that cannot be encoded).
    permanent: bool = False
    #: The job was cancelled while it ran (it raised ``JobCancelled`` or its cancel was seen).
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and not self.cancelled


def error_info(exc: BaseException) -> ErrorInfo:
    """The stored form of an exception; one whose ``__str__`` raises gets a placeholder message."""
    try:
        message = str(exc)
    except Exception as failure:
        message = f"<{type(exc).__qualname__} could not be shown: str() raised {type(failure).__qualname__}>"
    return ErrorInfo(
        type=type(exc).__qualname__,
        message=message,
        traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    )


def run_hook(task: Task[Any, Any], hook: Callable[..., object] | None, *args: object) -> None:
    """Call a lifecycle hook; one that raises is logged, never fatal."""
    if hook is None:
        return
    try:
        hook(*args)
    except Exception:
        logger.exception("hook %s of task %s raised", getattr(hook, "__name__", hook), task.name)


def call_task(task: Task[Any, Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Call the task's function; an ``async def`` task runs on a fresh event loop.

    Called from a thread whose loop is running (eager mode inside async code), the fresh loop
    runs on a helper thread, in a copy of the caller's context.
    """
    value = task.func(*args, **kwargs)
    if not inspect.isawaitable(value):
        return value
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(value))
    context = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="nuvom-eager") as helper:
        return helper.submit(context.run, asyncio.run, _await(value)).result()


async def _await(awaitable: Any) -> Any:
    return await awaitable


def run_attempt(
    task: Task[Any, Any],
    message: JobMessage,
    store_result: bool,
    current: Callable[[], bool] = lambda: True,
    job: CurrentJob | None = None,
) -> Outcome:
    """Run one attempt with its hooks; never raises for what the task does.

    ``current`` says whether the attempt still counts: once it has timed out, its late
    ``after_job``/``on_error`` hooks are not called (the timeout already called ``on_error``).
    ``job`` is what ``nuvom.current_job()`` returns inside the task.
    """
    try:
        args, kwargs = message.decode_call()
    except SerializationError as exc:
        return Outcome(error=error_info(exc), permanent=True)
    run_hook(task, task.opts.before_job)
    try:
        with running(job or CurrentJob(message.id, message.task_name, 1)):
            value = call_task(task, args, kwargs)
    except BaseException as exc:  # sys.exit(), KeyboardInterrupt…: they fail the job, not the worker
        if _is_ctrl_c(exc):
            raise
        return _failure(task, exc, current)
    return _success(task, value, store_result, current)


async def run_attempt_async(
    task: Task[Any, Any], message: JobMessage, eff: Effective, job: CurrentJob
) -> Outcome:
    """Run one attempt of an ``async def`` task on the running loop, with its hooks.

    Past ``eff.timeout_secs`` the coroutine is cancelled (unless the policy is ``ignore``) and
    the attempt fails with ``JobTimeout``, to be retried under policy ``retry``. Cancelling
    ``job`` cancels the coroutine too. Never raises for what the task does.
    """
    try:
        args, kwargs = message.decode_call()
    except SerializationError as exc:
        return Outcome(error=error_info(exc), permanent=True)
    run_hook(task, task.opts.before_job)
    loop = asyncio.get_running_loop()
    with running(job):  # the task below copies this context
        try:
            inner = loop.create_task(_contained(task.func(*args, **kwargs)))
        except BaseException as exc:  # e.g. a TypeError for bad arguments
            return _failure(task, exc, lambda: True)

    def cancel() -> None:
        loop.call_soon_threadsafe(inner.cancel)

    job.on_cancel(cancel)
    limit = None if eff.timeout_policy == "ignore" else eff.timeout_secs
    done, _ = await asyncio.wait({inner}, timeout=limit)
    if not done:
        inner.cancel()
        await asyncio.wait({inner})
        timeout = JobTimeout(eff.timeout_secs)
        run_hook(task, task.opts.on_error, timeout)
        return Outcome(error=ErrorInfo("JobTimeout", str(timeout)), permanent=eff.timeout_policy == "fail")
    if inner.cancelled():
        return Outcome(error=error_info(JobCancelled(job.id)), cancelled=True)
    error = inner.exception()
    if error is None and isinstance(inner.result(), _Raised):
        error = inner.result().exc
    if error is not None:
        return _failure(task, error, lambda: True)
    return _success(task, inner.result(), eff.store_result, lambda: True)


def _is_ctrl_c(exc: BaseException) -> bool:
    """A ``KeyboardInterrupt`` where Python's own SIGINT handler turns Ctrl-C into one.

    That is eager mode or :meth:`Worker.drain` in a program: Ctrl-C stops the program. A worker
    and its children install their own handling, so there it can only come from the task.
    """
    return (
        isinstance(exc, KeyboardInterrupt)
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )


@dataclass(frozen=True)
class _Raised:
    exc: BaseException


async def _contained(awaitable: Any) -> Any:
    """Await the task; asyncio re-raises ``KeyboardInterrupt``/``SystemExit`` out of the loop."""
    try:
        return await awaitable
    except (KeyboardInterrupt, SystemExit) as exc:
        return _Raised(exc)


def _failure(task: Task[Any, Any], exc: BaseException, current: Callable[[], bool]) -> Outcome:
    """A failed attempt; any ``BaseException`` the task raised counts as the task's error."""
    if isinstance(exc, JobCancelled):
        return Outcome(error=error_info(exc), cancelled=True)
    if current():
        run_hook(task, task.opts.on_error, exc)
    delay = exc.delay if isinstance(exc, Retry) else None
    return Outcome(error=error_info(exc), requested_delay=delay)


def _success(task: Task[Any, Any], value: Any, store_result: bool, current: Callable[[], bool]) -> Outcome:
    try:
        encoded = serialization.dumps(value if store_result else None, path="result")
    except SerializationError as exc:
        if current():
            run_hook(task, task.opts.on_error, exc)
        return Outcome(error=error_info(exc), permanent=True)
    if current():
        run_hook(task, task.opts.after_job, value)
    return Outcome(result=encoded)


def queued_record(message: JobMessage, max_retries: int) -> JobRecord:
    """The record written when a job is enqueued."""
    scheduled = message.eta is not None and message.eta > time.time()
    return JobRecord(
        id=message.id,
        task_name=message.task_name,
        queue=message.queue,
        status=JobStatus.SCHEDULED if scheduled else JobStatus.QUEUED,
        args=message.args,
        kwargs=message.kwargs,
        created_at=message.created_at,
        priority=message.priority,
        eta=message.eta,
        max_retries=max_retries,
        links=message.links,
        sensitive=is_sensitive(message.task_name),
    )


def is_sensitive(task_name: str) -> bool:
    """True when this process knows ``task_name`` as a task marked ``sensitive``."""
    known = registry.get(task_name)
    return known is not None and known.opts.sensitive


def unreadable_record(lease: Lease) -> JobRecord:
    """A record for a job whose payload cannot be read: only the envelope is known."""
    empty_args, empty_kwargs = JobMessage.encode_call((), {})
    return JobRecord(
        id=lease.id,
        task_name="<unreadable>",
        queue=lease.envelope.queue,
        status=JobStatus.QUEUED,
        args=empty_args,
        kwargs=empty_kwargs,
        created_at=time.time(),
        priority=lease.envelope.priority,
        eta=lease.envelope.eta,
        attempts=lease.envelope.attempts,
    )


def running_record(
    base: JobRecord | None,
    message: JobMessage,
    attempt: int,
    max_retries: int,
    worker_id: str,
    *,
    isolated: bool = False,
) -> JobRecord:
    """The record of an attempt that has just started (``isolated``: it runs alone)."""
    record = base or queued_record(message, max_retries)
    return record.replace(
        status=JobStatus.RUNNING,
        attempts=attempt,
        max_retries=max_retries,
        worker_id=worker_id,
        started_at=time.time(),
        next_retry_at=None,
        isolated=isolated,
        sensitive=record.sensitive or is_sensitive(message.task_name),
    )


def failed_record(record: JobRecord, error: ErrorInfo, *, ttl: float | None = None) -> JobRecord:
    """A final failure."""
    now = time.time()
    return record.replace(
        status=JobStatus.FAILED,
        error=error,
        finished_at=now,
        next_retry_at=None,
        expires_at=now + ttl if ttl is not None else None,
    )


def cancelled_record(record: JobRecord) -> JobRecord:
    """The record of a job cancelled before or while it ran; any result is discarded."""
    return record.replace(
        status=JobStatus.CANCELLED, result=None, finished_at=time.time(), next_retry_at=None
    )


def settle(record: JobRecord, outcome: Outcome, eff: Effective) -> JobRecord:
    """The record after an attempt: success, cancelled, retrying (with ``next_retry_at``) or failed."""
    now = time.time()
    if outcome.cancelled:
        return cancelled_record(record)
    if outcome.ok:
        return record.replace(
            status=JobStatus.SUCCESS,
            result=outcome.result,
            error=None,
            finished_at=now,
            expires_at=now + eff.result_ttl_secs if eff.result_ttl_secs is not None else None,
        )
    assert outcome.error is not None
    if outcome.permanent or record.attempts > eff.max_retries:
        return failed_record(record, outcome.error, ttl=eff.result_ttl_secs)
    delay = outcome.requested_delay
    if delay is None:
        delay = backoff_delay(
            record.attempts,
            base=eff.retry_delay_secs,
            backoff=eff.retry_backoff,
            cap=eff.retry_backoff_max_secs,
        )
    return record.replace(
        status=JobStatus.RETRYING, error=outcome.error, finished_at=now, next_retry_at=now + delay
    )
