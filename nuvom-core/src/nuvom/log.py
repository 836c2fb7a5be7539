"""Logging: job context for every record, and the handlers the command line installs.

The library never adds a handler. It only keeps *context*: the worker calls :func:`set_worker_id`
once and runs each job inside :func:`job_context`; :class:`ContextFilter`, on the handler the
command line installs, copies that context onto every record (``worker_id``, ``job_id``,
``task``), including records of a task's own loggers.

On a terminal the command line logs through Rich. Anywhere else (a file, a pipe, a log
collector) each record is one line: ``NUVOM_LOG_FORMAT=text`` (the default)::

    2026-12-06T01:15:00.123+00:00 ERROR nuvom.worker.committer [worker=h:41:9f2c1a job=5d1… task=send] job …

or ``NUVOM_LOG_FORMAT=json``, one JSON object per line with the keys of :data:`JSON_KEYS`.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from rich.console import Console

LogFormat = Literal["text", "json"]

#: Keys of a JSON log line, in order. ``worker_id``, ``job_id``, ``task`` and ``exc`` appear only
#: when known; ``exc`` holds the whole formatted exception (traceback included) as one string.
JSON_KEYS: Final = ("ts", "level", "logger", "message", "pid", "worker_id", "job_id", "task", "exc")
#: Record attributes the context filter sets (``None`` when unknown).
CONTEXT_FIELDS: Final = ("worker_id", "job_id", "task")

_job: contextvars.ContextVar[tuple[str, str | None] | None] = contextvars.ContextVar(
    "nuvom_job", default=None
)
_worker_id: str | None = None


def set_worker_id(worker_id: str | None) -> None:
    """Name the worker of this process on every later record (``None`` to forget it)."""
    global _worker_id
    _worker_id = worker_id


@contextlib.contextmanager
def job_context(job_id: str, task: str | None = None) -> Iterator[None]:
    """Records logged inside (by this thread, or tasks it starts) carry ``job_id`` and ``task``."""
    token = _job.set((job_id, task))
    try:
        yield
    finally:
        _job.reset(token)


def name_job_task(task: str) -> None:
    """Inside :func:`job_context`: the job's task, once it is known."""
    job = _job.get()
    if job is not None:
        _job.set((job[0], task))


class ContextFilter(logging.Filter):
    """Sets ``worker_id``, ``job_id`` and ``task`` on each record (values passed in ``extra`` win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        job = _job.get()
        known = {"worker_id": _worker_id, "job_id": job[0] if job else None, "task": job[1] if job else None}
        for name, value in known.items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


def timestamp(created: float) -> str:
    """ISO-8601 local date and time with milliseconds and the UTC offset."""
    return dt.datetime.fromtimestamp(created).astimezone().isoformat(timespec="milliseconds")


def _exception_text(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    parts = []
    if record.exc_info:
        parts.append(formatter.formatException(record.exc_info))
    if record.stack_info:
        parts.append(formatter.formatStack(record.stack_info))
    return "\n".join(parts) or None


class TextFormatter(logging.Formatter):
    """One line per record: time, level, logger, ``[key=value …]`` context, message.

    A newline (in the message or a traceback) is written as backslash-n: a record never spans lines.
    """

    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(
            f"{name.removesuffix('_id')}={value}"
            for name in CONTEXT_FIELDS
            if (value := getattr(record, name, None)) is not None
        )
        line = f"{timestamp(record.created)} {record.levelname} {record.name} "
        line += f"[{context}] " if context else ""
        line += record.getMessage()
        exc = _exception_text(self, record)
        if exc:
            line += " | " + exc
        return line.replace("\r", "\\r").replace("\n", "\\n")


class JsonFormatter(logging.Formatter):
    """One JSON object per line with the keys of :data:`JSON_KEYS`."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "ts": timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                data[name] = value
        exc = _exception_text(self, record)
        if exc:
            data["exc"] = exc
        return json.dumps(data, ensure_ascii=False, default=str)


def make_handler(fmt: LogFormat = "text", console: Console | None = None) -> logging.Handler:
    """The handler the command line logs through: Rich on a terminal for ``text``, else one line per record.

    Rich's highlighted tracebacks are rendered only on a terminal: one costs about 100 ms of CPU,
    which a worker logging errors to a file or a log collector cannot afford.
    """
    from rich.console import Console  # the command line's dependency: imported when it logs
    from rich.logging import RichHandler

    console = console or Console(stderr=True)
    handler: logging.Handler
    if fmt == "text" and console.is_terminal:
        handler = RichHandler(console=console, show_path=False, rich_tracebacks=True)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(console.file)
        handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    return handler


def configure_logging(level: str, fmt: LogFormat = "text", console: Console | None = None) -> None:
    """For the ``nuvom`` command only: log every record at ``level`` or above to stderr.

    The command is the application, so it owns the root logger; a program that imports Nuvom
    keeps its own handlers (install :func:`make_handler`'s handler, or add :class:`ContextFilter`
    to yours, to get job context).
    """
    root = logging.getLogger()
    root.handlers[:] = [make_handler(fmt, console)]
    root.setLevel(level)
