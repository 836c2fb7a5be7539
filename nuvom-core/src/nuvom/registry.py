"""The thread-safe registry of tasks, by name."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from .errors import DuplicateTask
from .options import TaskOptions


class RegisteredTask(Protocol):
    """What the registry holds and a worker runs: a task's function and options (``nuvom.Task``)."""

    @property
    def func(self) -> Callable[..., Any]:
        """The function the task runs."""

    @property
    def opts(self) -> TaskOptions:
        """The options given to ``@task``."""

    @property
    def name(self) -> str:
        """The registered name."""

    @property
    def origin(self) -> str:
        """``module:qualname`` of the function."""

    @property
    def is_async(self) -> bool:
        """True for an ``async def`` task."""


class TaskRegistry:
    """Tasks by name. Registering a different function under a taken name raises."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: dict[str, RegisteredTask] = {}

    def register(self, task: RegisteredTask, *, force: bool = False, silent: bool = False) -> None:
        """Register ``task`` under ``task.name``.

        The same function (same module and qualified name, e.g. a re-imported module) replaces
        the old entry. Another function under a taken name raises unless ``force`` (replace) or
        ``silent`` (keep the first).

        Raises:
            DuplicateTask: on a clash without ``force`` or ``silent``.
        """
        with self._lock:
            existing = self._tasks.get(task.name)
            if existing is not None and not force and existing.origin != task.origin:
                if silent:
                    return
                raise DuplicateTask(task.name)
            self._tasks[task.name] = task

    def get(self, name: str) -> RegisteredTask | None:
        """The task registered under ``name``, or ``None``."""
        with self._lock:
            return self._tasks.get(name)

    def unregister(self, name: str) -> bool:
        """Remove a task; ``True`` if it was registered."""
        with self._lock:
            return self._tasks.pop(name, None) is not None

    def all(self) -> dict[str, RegisteredTask]:
        """A snapshot of every registered task, by name."""
        with self._lock:
            return dict(self._tasks)


#: The process-wide registry that ``@task`` registers into.
registry = TaskRegistry()


def is_sensitive(task_name: str) -> bool:
    """True when this process knows ``task_name`` as a task marked ``sensitive``."""
    known = registry.get(task_name)
    return known is not None and known.opts.sensitive
