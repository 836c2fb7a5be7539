"""The thread-safe registry of tasks, by name."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .errors import DuplicateTask

if TYPE_CHECKING:
    from .task import Task


class TaskRegistry:
    """Tasks by name. Registering a different function under a taken name raises."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: dict[str, Task[Any, Any]] = {}

    def register(self, task: Task[Any, Any], *, force: bool = False, silent: bool = False) -> None:
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

    def get(self, name: str) -> Task[Any, Any] | None:
        """The task registered under ``name``, or ``None``."""
        with self._lock:
            return self._tasks.get(name)

    def unregister(self, name: str) -> bool:
        """Remove a task; ``True`` if it was registered."""
        with self._lock:
            return self._tasks.pop(name, None) is not None

    def all(self) -> dict[str, Task[Any, Any]]:
        """A snapshot of every registered task, by name."""
        with self._lock:
            return dict(self._tasks)


#: The process-wide registry that ``@task`` registers into.
registry = TaskRegistry()
