"""Exclusive locks on open files across the processes of one host, for the file backends.

POSIX ``flock``: the lock belongs to the open file, so closing the descriptor, or the death of
the process (even by ``kill -9``), releases it. A platform without ``fcntl`` (Windows) can still
import Nuvom and use every other backend; opening a file backend there raises
:class:`~nuvom.errors.NotSupported` (see :func:`require`).
"""

from __future__ import annotations

import sys

from ..errors import NotSupported

try:
    import fcntl
except ModuleNotFoundError:  # Windows
    AVAILABLE = False
else:
    AVAILABLE = True


def require(backend: str) -> None:
    """Raise :class:`NotSupported` naming ``backend`` where file locks are missing; else nothing."""
    if not AVAILABLE:
        raise NotSupported(
            backend,
            f"it needs POSIX file locks (fcntl), which {sys.platform} lacks; choose another backend, "
            "e.g. NUVOM_QUEUE_BACKEND=sqlite NUVOM_RESULT_BACKEND=sqlite NUVOM_SCHEDULER_BACKEND=sqlite "
            "with nuvom-sqlite installed",
        )


def lock(fd: int) -> None:
    """Block until this process holds the exclusive lock on the open file ``fd``."""
    fcntl.flock(fd, fcntl.LOCK_EX)


def try_lock(fd: int) -> bool:
    """Take the exclusive lock on ``fd`` if no other process holds it; ``False`` if one does."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
