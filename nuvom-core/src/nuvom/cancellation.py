"""Cooperative cancellation: the running job's handle, reachable from inside the task.

A worker cannot stop a thread, so a running job is cancelled cooperatively: the task asks
``nuvom.current_job().cancelled`` or calls ``.check()`` (which raises :class:`JobCancelled`)
at points where stopping is safe. A task that never asks runs to its end; its outcome is then
discarded and the job still ends ``cancelled``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .errors import JobCancelled


class CurrentJob:
    """The job an attempt is running for, as seen from inside its task."""

    def __init__(self, job_id: str, task_name: str, attempt: int) -> None:
        #: The job's id.
        self.id = job_id
        #: The task's registered name.
        self.task_name = task_name
        #: This attempt's number, from 1.
        self.attempt = attempt
        self._cancelled = False
        #: Made by the first :meth:`wait`: most tasks never wait, and a worker makes one handle per job.
        self._event: threading.Event | None = None
        self._on_cancel: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<CurrentJob {self.id} task={self.task_name!r} attempt={self.attempt}>"

    @property
    def cancelled(self) -> bool:
        """True once the job was cancelled: the task should stop soon."""
        return self._cancelled

    def check(self) -> None:
        """Return if the job goes on; raise :class:`JobCancelled` if it was cancelled.

        Raises:
            JobCancelled: the job was cancelled; let it propagate and the job ends ``cancelled``.
        """
        if self._cancelled:
            raise JobCancelled(self.id)

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking early on cancel; ``True`` if cancelled."""
        with self._lock:
            if self._event is None:
                self._event = threading.Event()
                if self._cancelled:
                    self._event.set()
            event = self._event
        return event.wait(timeout)

    def cancel(self) -> None:
        """Ask the task to stop (called by the worker when it sees the job cancelled)."""
        with self._lock:
            self._cancelled = True
            if self._event is not None:
                self._event.set()
            callbacks, self._on_cancel = self._on_cancel, []
        for callback in callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the job is cancelled (now, if it already is)."""
        with self._lock:
            if not self._cancelled:
                self._on_cancel.append(callback)
                return
        callback()


_current: ContextVar[CurrentJob | None] = ContextVar("nuvom_current_job", default=None)


def current_job() -> CurrentJob:
    """The job the calling task runs for (on a worker, in eager mode and in ``drain``).

    Raises:
        RuntimeError: when called outside a running task.
    """
    job = _current.get()
    if job is None:
        raise RuntimeError("nuvom.current_job() is only available inside a running task")
    return job


@contextmanager
def running(job: CurrentJob) -> Iterator[CurrentJob]:
    """Make ``job`` the current job for the duration of the block."""
    token = _current.set(job)
    try:
        yield job
    finally:
        _current.reset(token)
