"""The backends this process uses, chosen by name from the settings and built once."""

from __future__ import annotations

import threading
from typing import Any

from .backends.base import QueueBackend, ResultBackend, SchedulerBackend
from .backends.interface import check_interface
from .config import Settings, get_settings, reset_settings
from .errors import ConfigError
from .plugins.manager import BackendKind, backend_factories, backend_origin, reset_plugin_manager

_lock = threading.RLock()
_queue: QueueBackend | None = None
_results: ResultBackend | None = None
_scheduler: SchedulerBackend | None = None

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


def get_queue() -> QueueBackend:
    """This process's queue backend."""
    global _queue
    with _lock:
        if _queue is None:
            _queue = create_backend("queue", get_settings())
        return _queue


def get_results() -> ResultBackend:
    """This process's result backend."""
    global _results
    with _lock:
        if _results is None:
            _results = create_backend("result", get_settings())
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
