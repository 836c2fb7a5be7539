"""Running one attempt of a task: its hooks, its function (sync or ``async def``), its outcome.

Shared by the worker, its process-pool children and eager mode, so all take the same path.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import serialization
from .cancellation import CurrentJob, running
from .errors import JobCancelled, JobTimeout, Retry, SerializationError
from .lifecycle import Outcome, error_info
from .message import JobMessage
from .record import ErrorInfo

if TYPE_CHECKING:
    from .options import Effective
    from .registry import RegisteredTask

logger = logging.getLogger(__name__)


def run_hook(task: RegisteredTask, hook: Callable[..., object] | None, *args: object) -> None:
    """Call a lifecycle hook; one that raises is logged, never fatal."""
    if hook is None:
        return
    try:
        hook(*args)
    except Exception:
        logger.exception("hook %s of task %s raised", getattr(hook, "__name__", hook), task.name)


def call_task(task: RegisteredTask, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Call the task's function; an ``async def`` task runs on a fresh event loop.

    Called from a thread whose loop is running (eager mode inside async code), the fresh loop
    runs on a helper thread, in a copy of the caller's context.
    """
    value = task.func(*args, **kwargs)
    if not inspect.isawaitable(value):
        return value
    import asyncio  # ~15 ms: paid by the first ``async def`` task, not by ``import nuvom``
    import concurrent.futures

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
    task: RegisteredTask,
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
    task: RegisteredTask, message: JobMessage, eff: Effective, job: CurrentJob
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
    import asyncio  # loaded already: this runs on an event loop

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


def _failure(task: RegisteredTask, exc: BaseException, current: Callable[[], bool]) -> Outcome:
    """A failed attempt; any ``BaseException`` the task raised counts as the task's error."""
    if isinstance(exc, JobCancelled):
        return Outcome(error=error_info(exc), cancelled=True)
    if current():
        run_hook(task, task.opts.on_error, exc)
    delay = exc.delay if isinstance(exc, Retry) else None
    return Outcome(error=error_info(exc), requested_delay=delay)


def _success(task: RegisteredTask, value: Any, store_result: bool, current: Callable[[], bool]) -> Outcome:
    try:
        encoded = serialization.dumps(value if store_result else None, path="result")
    except SerializationError as exc:
        if current():
            run_hook(task, task.opts.on_error, exc)
        return Outcome(error=error_info(exc), permanent=True)
    if current():
        run_hook(task, task.opts.after_job, value)
    return Outcome(result=encoded)
