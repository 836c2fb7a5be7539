"""Waiting for a change in a few folders: how idle file and SQLite workers wake without polling.

On Linux a :class:`FolderWatch` blocks on an inotify instance (through ``inotify_simple``) that
watches the folders its caller names, so a rename into a watched folder (or, with ``touches``, a
:func:`touch` of a file in it) by any process of the host wakes the waiter at once. An event
comes after the change it reports is complete and visible. Elsewhere (macOS, Windows), or when
the kernel refuses an instance (``fs.inotify.max_user_instances``), :meth:`FolderWatch.wait`
answers ``False`` and the caller polls as it did before.

A waiter never relies on the watch alone: it bounds every wait (a worker claims again at least
every half second), so an event the kernel dropped (its queue overflowed) or a folder the watch
missed delays a job by that bound at most, and never strands it.

Each thread gets its own inotify instance: two threads sharing one would consume each other's
events.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

try:
    import inotify_simple
except ImportError:  # not Linux: the package is installed on Linux only
    inotify_simple = None

logger = logging.getLogger(__name__)


class FolderWatch:
    """Block until an entry appears in a watched folder (or, with ``touches``, a file there is touched).

    Args:
        names: when given, only events about entries of these names count (e.g. a database
            file); others are read and ignored.
        touches: also count a :func:`touch` of a file in the folders, not only entries created
            or renamed into them.
        enabled: ``False`` forces the polling fallback (for tests, and for platforms where the
            caller knows better).
    """

    def __init__(
        self, *, names: Collection[str] | None = None, touches: bool = False, enabled: bool = True
    ) -> None:
        self._names = frozenset(names) if names is not None else None
        self._mask = 0
        if inotify_simple is not None:
            flags = inotify_simple.flags
            self._mask = flags.CREATE | flags.MOVED_TO | (flags.ATTRIB if touches else 0)
        self._enabled = enabled and inotify_simple is not None
        self._local = threading.local()
        self._lock = threading.Lock()
        self._instances: list[_Instance] = []

    def wait(self, folders: Iterable[Path], timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a change in ``folders``; ``False`` if it cannot watch.

        Returns ``True`` once a change was seen, the timeout passed, or a folder was watched for
        the first time (a change made before its watch began went unseen: check again first).
        Folders that do not exist are skipped; watch their parent to see them appear.
        """
        instance = self._instance()
        if instance is None:
            return False
        if instance.add(folders, self._mask):
            return True
        instance.wait(timeout, self._names)
        return True

    def _instance(self) -> _Instance | None:
        if not self._enabled:
            return None
        instance: _Instance | None = getattr(self._local, "instance", None)
        if instance is None:
            try:
                instance = _Instance()
            except (OSError, AttributeError) as exc:
                # EMFILE: the per-user limit of inotify instances; AttributeError: no inotify in libc
                logger.warning("cannot watch folders for changes (%s); polling instead", exc)
                self._enabled = False
                return None
            self._local.instance = instance
            with self._lock:
                self._instances.append(instance)
        return instance

    def close(self) -> None:
        """Release every thread's inotify instance; a later :meth:`wait` makes a new one."""
        with self._lock:
            instances, self._instances = self._instances, []
        for instance in instances:
            instance.close()
        self._local = threading.local()


def touch(path: Path) -> None:
    """Wake the waiters that watch ``path``'s folder for touches: set its times to now.

    A failure (the file is gone, or is not ours to touch) is ignored: waiters still look again
    at the end of their bounded wait.
    """
    with contextlib.suppress(OSError):
        os.utime(path)


class _Instance:
    """One thread's inotify instance and the folders it watches."""

    def __init__(self) -> None:
        assert inotify_simple is not None
        self._inotify: Any = inotify_simple.INotify()  # untyped library
        self._ignored = inotify_simple.flags.IGNORED | inotify_simple.flags.Q_OVERFLOW
        self._watched: dict[Path, int] = {}
        self._folders: dict[int, Path] = {}

    def add(self, folders: Iterable[Path], mask: int) -> bool:
        """Watch each existing folder not watched yet; ``True`` if one was added."""
        added = False
        for folder in folders:
            if folder in self._watched:
                continue
            try:
                wd = self._inotify.add_watch(folder, mask)
            except (FileNotFoundError, NotADirectoryError):
                continue
            self._watched[folder] = wd
            self._folders[wd] = folder
            added = True
        return added

    def wait(self, timeout: float, names: frozenset[str] | None) -> None:
        """Block until a matching event arrives, or ``timeout`` seconds pass."""
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            try:
                events = self._inotify.read(timeout=max(1, round(left * 1000)))
            except (OSError, ValueError):  # closed by FolderWatch.close meanwhile: look again
                return
            relevant = False
            for event in events:
                if event.mask & self._ignored:
                    # The folder was removed (its watch is gone: watch it again if it comes
                    # back), or events were dropped: either way, look again.
                    folder = self._folders.pop(event.wd, None)
                    if folder is not None:
                        self._watched.pop(folder, None)
                    relevant = True
                elif names is None or event.name in names:
                    relevant = True
            if relevant:
                return

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._inotify.close()
