"""The main loop of a process-pool child: it only runs attempts; the parent does all the rest.

A child imports the task modules it is given, then repeatedly receives a :class:`Request` on
its pipe, runs the attempt with the task's lifecycle hooks, and sends back a :class:`Reply`.
It never talks to the queue or the result backend.

Requests and replies cross the pipe as msgpack lists (``send_bytes``), not pickled dataclasses:
``Connection.send`` pickles through ``ForkingPickler``, which copies its reducer table for every
message, and a dataclass pickles slower than a list; together that was ~15 µs of every job.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Final

from .. import serialization
from ..cancellation import CurrentJob
from ..config import load_settings
from ..errors import TaskNotFound
from ..execution import run_attempt
from ..lifecycle import Outcome
from ..log import configure_logging, job_context
from ..message import JobMessage
from ..record import ErrorInfo
from ..registry import registry
from .peak_memory import peak_rss_mb

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    """One attempt to run: the job's encoded message, as claimed by the parent."""

    payload: bytes
    attempt: int
    store_result: bool

    def encode(self) -> bytes:
        return serialization.dumps([self.payload, self.attempt, self.store_result], path="request")

    @classmethod
    def decode(cls, data: bytes) -> Request:
        payload, attempt, store_result = serialization.loads(data, what="a request from the worker")
        return cls(payload, attempt, store_result)


@dataclass(frozen=True)
class Reply:
    """What the attempt produced, and the child's peak memory so far (``None``: unknown here)."""

    outcome: Outcome
    max_rss_mb: float | None

    def encode(self) -> bytes:
        o = self.outcome
        error = [o.error.type, o.error.message, o.error.traceback] if o.error is not None else None
        fields = [o.result, error, o.requested_delay, o.permanent, o.cancelled, self.max_rss_mb]
        return serialization.dumps(fields, path="reply")

    @classmethod
    def decode(cls, data: bytes) -> Reply:
        fields = serialization.loads(data, what="a reply from a child")
        result, error, delay, permanent, cancelled, max_rss_mb = fields
        info = ErrorInfo(*error) if error is not None else None
        return cls(Outcome(result, info, delay, permanent, cancelled), max_rss_mb)


#: What a child sends once it has imported the task modules (a reply is never this short).
READY: Final = b"ready"
#: What the parent sends to let a child exit.
STOP: Final = b""


@dataclass(frozen=True)
class Setup:
    """What a child copies from its parent before importing anything.

    A forkserver child is forked from the server, which was started once with the parent's
    state of that time; the parent may have changed its environment, folder or ``sys.path``
    since, so they are sent along with each child.
    """

    modules: list[str]
    log_level: str
    environ: dict[str, str]
    cwd: str
    sys_path: list[str]

    @classmethod
    def here(cls, modules: list[str], log_level: str) -> Setup:
        return cls(modules, log_level, dict(os.environ), os.getcwd(), list(sys.path))


def child_main(conn: Connection, setup: Setup) -> None:
    """Take on ``setup``, then run requests from ``conn`` until it sends ``None`` or closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when children stop
    _exit_with_the_worker()
    os.environ.clear()
    os.environ.update(setup.environ)
    os.chdir(setup.cwd)
    sys.path[:] = setup.sys_path
    modules, log_level = setup.modules, setup.log_level
    configure_logging(log_level, load_settings().log_format)
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception:
            logger.exception("module %s failed to import; its tasks cannot run in this child", module)
    conn.send_bytes(READY)
    while True:
        try:
            data = conn.recv_bytes()
        except EOFError:
            return
        if data == STOP:
            return
        conn.send_bytes(Reply(_run(Request.decode(data)), peak_rss_mb()).encode())


def _exit_with_the_worker() -> None:
    """End this child as soon as its worker is gone, even killed with SIGKILL mid-job.

    The worker alone can store an attempt's outcome, so a child that outlived it would only go on
    running a job that is delivered again elsewhere once its lease lapses. multiprocessing gives
    each child a sentinel of its parent: a pipe that becomes readable when the parent is gone.
    """
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return

    def watch(sentinel: int) -> None:
        wait([sentinel])
        logger.warning("the worker that started this child is gone; exiting")
        os._exit(1)

    threading.Thread(target=watch, args=(parent.sentinel,), name="nuvom-worker-watch", daemon=True).start()


def _run(request: Request) -> Outcome:
    message = JobMessage.decode(request.payload)
    task = registry.get(message.task_name)
    if task is None:
        return Outcome(error=ErrorInfo("TaskNotFound", str(TaskNotFound(message.task_name))), permanent=True)
    job = CurrentJob(message.id, message.task_name, request.attempt)
    with job_context(message.id, message.task_name):
        return run_attempt(task, message, request.store_result, job=job)
