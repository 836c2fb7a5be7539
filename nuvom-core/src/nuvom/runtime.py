"""The backends this process uses, chosen by name from the settings and built once."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .backends import Capability, QueueBackend, ResultBackend, SchedulerBackend
from .backends.interface import check_interface
from .config import get_settings, reset_settings
from .errors import ConfigError
from .message import JobMessage
from .plugins.manager import BackendKind, backend_factories, backend_origin, reset_plugin_manager

if TYPE_CHECKING:
    from .config import Settings

_lock = threading.RLock()
_queue: QueueBackend | None = None
_results: ResultBackend | None = None
_scheduler: SchedulerBackend | None = None


class InlineDispatcher(Protocol):
    """Runs jobs in the sending thread instead of queueing them: eager mode."""

    def run(self, messages: Sequence[JobMessage]) -> None:
        """Run every attempt of each job now and store its outcome; then what its links send."""


_inline: InlineDispatcher | None = None


def set_inline_dispatcher(dispatcher: InlineDispatcher) -> None:
    """Hold the dispatcher eager mode uses (``nuvom`` installs :class:`nuvom.inline.Inline` on import)."""
    global _inline
    _inline = dispatcher


def inline_dispatcher() -> InlineDispatcher | None:
    """The dispatcher sends go through instead of the queue: set in eager mode, else ``None``."""
    return _inline if get_settings().eager else None


_SETTING_OF: dict[BackendKind, str] = {
    "queue": "queue_backend",
    "result": "result_backend",
    "scheduler": "scheduler_backend",
}


def create_backend(kind: BackendKind, settings: Settings) -> Any:
    """Build the backend of ``kind`` named in ``settings`` and check it against its interface.

    Raises:
        ConfigError: naming the variable, the unknown name and the names available.
        BackendInterfaceError: naming the backend, its plugin and each missing or mis-shaped method.
    """
    field = _SETTING_OF[kind]
    name = getattr(settings, field)
    factories = backend_factories(kind)
    if name not in factories:
        available = ", ".join(sorted(factories)) or "none"
        raise ConfigError(f"NUVOM_{field.upper()}", name, f"available {kind} backends: {available}")
    backend = factories[name](settings)
    try:
        check_interface(kind, backend, name, backend_origin(kind, name))
    except Exception:
        close = getattr(backend, "close", None)
        if callable(close):
            close()
        raise
    return backend


def check_pair(queue: QueueBackend, results: ResultBackend) -> None:
    """Refuse a cross-process queue with a result store that other processes cannot read.

    Workers in other processes would run the jobs and store their outcomes where the sender
    never sees them: every ``job.get()`` would time out with the job still ``queued``.

    Raises:
        ConfigError: naming ``NUVOM_RESULT_BACKEND``, why, and what to set.
    """
    if (
        Capability.CROSS_PROCESS in queue.capabilities
        and Capability.CROSS_PROCESS not in results.capabilities
    ):
        raise ConfigError(
            "NUVOM_RESULT_BACKEND",
            results.name,
            f"it keeps results inside one process, while the {queue.name!r} queue hands jobs to "
            "workers in other processes, whose results would never be seen here: set "
            "NUVOM_RESULT_BACKEND to a store shared across processes (e.g. file, sqlite, redis)",
        )


def get_queue() -> QueueBackend:
    """This process's queue backend.

    Raises:
        ConfigError: a bad setting, or a result store the queue's workers cannot share (:func:`check_pair`).
    """
    global _queue
    with _lock:
        if _queue is None:
            queue = create_backend("queue", get_settings())
            if _results is not None:
                check_pair(queue, _results)
            _queue = queue
        return _queue


def get_results() -> ResultBackend:
    """This process's result backend.

    Raises:
        ConfigError: a bad setting, or a result store the queue's workers cannot share (:func:`check_pair`).
    """
    global _results
    with _lock:
        if _results is None:
            results = create_backend("result", get_settings())
            if _queue is not None:
                check_pair(_queue, results)
            _results = results
        return _results


def get_scheduler_store() -> SchedulerBackend:
    """This process's scheduler store."""
    global _scheduler
    with _lock:
        if _scheduler is None:
            _scheduler = create_backend("scheduler", get_settings())
        return _scheduler


def reset() -> None:
    """Close the backends and forget the settings and plugins; the next use rebuilds them."""
    global _queue, _results, _scheduler
    with _lock:
        for backend in (_queue, _results, _scheduler):
            if backend is not None:
                backend.close()
        _queue = _results = _scheduler = None
        reset_settings()
        reset_plugin_manager()
