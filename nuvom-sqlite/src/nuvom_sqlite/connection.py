"""One SQLite connection per backend instance and per process, with retried write transactions.

Every backend instance owns a :class:`Database`. Its connection is opened on first use in each
process: after a ``fork`` the child opens its own and never touches the parent's (an inherited
SQLite connection must not be used, nor even closed). Threads of one process share the
connection under a lock; SQLite serialises writers across processes anyway.

Writes run in ``BEGIN IMMEDIATE`` transactions, which take the write lock up front so that a
transaction never fails half-way for want of it. A ``database is locked`` (or busy) error rolls
the transaction back and retries it with backoff until ``busy_timeout_secs`` has passed; only
then does it surface, as a :class:`~nuvom.errors.BackendError` naming the database file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from nuvom.backends.fsutil import FILE_MODE, make_private_dir
from nuvom.errors import BackendError

from . import schema

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: ``UPDATE … RETURNING`` appeared in SQLite 3.35.0.
MIN_SQLITE_VERSION = (3, 35, 0)
_MAX_BACKOFF_SECS = 0.05
#: WAL pages (4 KiB each by default) between automatic checkpoints with ``synchronous=NORMAL``;
#: SQLite's default, kept with ``FULL``, is 1,000.
WAL_CHECKPOINT_PAGES = 10_000

#: Forks this process descends from; a connection opened under another count is the parent's.
_forks = 0


def _forked() -> None:
    global _forks
    _forks += 1


os.register_at_fork(after_in_child=_forked)


class Database:
    """A SQLite database file as one backend instance uses it.

    Raises:
        BackendError: when the SQLite library is too old, or the file cannot be opened as a
            database (a directory, an unwritable place, not a database); the message names the path.
    """

    def __init__(self, path: Path, *, busy_timeout_secs: float = 10.0, synchronous: str = "NORMAL") -> None:
        if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
            raise BackendError(
                f"nuvom-sqlite needs SQLite 3.35 or newer (for UPDATE ... RETURNING); "
                f"this Python links SQLite {sqlite3.sqlite_version}"
            )
        self.path = Path(path)
        self.busy_timeout_secs = busy_timeout_secs
        self.synchronous = synchronous
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._generation = _forks
        #: Connections inherited through fork: kept referenced so they are never closed here.
        self._inherited: list[sqlite3.Connection] = []
        with self._use():
            pass
        stat = os.stat(self.path)
        #: The file's identity, to tell whether two instances share one database.
        self.identity = (stat.st_dev, stat.st_ino)

    def same_file(self, other: Database) -> bool:
        """True when ``other`` opened the same database file."""
        return self.identity == other.identity

    def error(self, exc: BaseException, doing: str) -> BackendError:
        """A :class:`BackendError` naming the database file."""
        return BackendError(f"SQLite database {self.path}: {doing} failed: {exc}")

    # -- connections -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        """This process's connection, held under the instance's lock."""
        self._after_fork()
        with self._lock:
            if self._conn is None:
                self._conn = self._open()
            yield self._conn

    def _after_fork(self) -> None:
        if self._generation != _forks:
            # A forked child: the parent's connection is not ours, and its lock may have been
            # held by a thread that does not exist here.
            self._lock = threading.RLock()
            if self._conn is not None:
                self._inherited.append(self._conn)
            self._conn = None
            self._generation = _forks

    def _open(self) -> sqlite3.Connection:
        if self.path.is_dir():
            raise BackendError(f"SQLite database path {self.path} is a directory, not a database file")
        try:
            make_private_dir(self.path.parent)
        except OSError as exc:
            raise BackendError(
                f"SQLite database {self.path}: cannot create its folder {self.path.parent}: {exc.strerror}"
            ) from None
        try:
            # Created here, owner-only, so that SQLite gives its -wal and -shm files the same mode.
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        except FileExistsError:
            pass  # an existing database keeps its mode
        except OSError as exc:
            raise BackendError(f"SQLite database {self.path} cannot be created: {exc.strerror}") from None
        try:
            conn = sqlite3.connect(
                self.path, timeout=self.busy_timeout_secs, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise BackendError(f"SQLite database {self.path} cannot be opened: {exc}") from None
        try:
            self._prepare(conn)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise BackendError(f"SQLite database {self.path} cannot be used: {exc}") from None
            raise
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_secs * 1000)}")
        self._with_retry(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
        conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        if self.synchronous == "NORMAL":
            # Checkpoint every ~40 MB of WAL instead of 4 MB: the hot pages at the queue's head are
            # rewritten many times in between. Not with FULL: there a small WAL that is reused
            # (overwritten, not grown) keeps each commit's fsync cheap.
            conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")

        def create() -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > schema.VERSION:
                    raise BackendError(
                        f"SQLite database {self.path} has schema version {version}, newer than this "
                        f"nuvom-sqlite's {schema.VERSION}: upgrade nuvom-sqlite"
                    )
                for statement in schema.DDL.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {schema.VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise

        self._with_retry(create)

    def close(self) -> None:
        """Close this process's connection. Idempotent; the next use opens a new one."""
        self._after_fork()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn = None

    # -- statements ------------------------------------------------------------------------

    def write(self, work: Callable[[sqlite3.Connection], T], doing: str = "a write") -> T:
        """Run ``work`` in one ``BEGIN IMMEDIATE`` transaction, retried while the database is busy.

        ``work`` must read every row it asks for (``fetchall``) before it returns; it may run
        more than once, each time in a fresh transaction after the last was rolled back.
        """

        def attempt() -> T:
            with self._use() as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = work(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    _rollback(conn)
                    raise
                return result

        return self._run(attempt, doing)

    def read(self, work: Callable[[sqlite3.Connection], T], doing: str = "a read") -> T:
        """Run ``work`` in one read transaction (a consistent snapshot), retried while busy."""

        def attempt() -> T:
            with self._use() as conn:
                conn.execute("BEGIN")
                try:
                    return work(conn)
                finally:
                    _rollback(conn)

        return self._run(attempt, doing)

    def query(self, sql: str, params: Sequence[object] = (), doing: str = "a read") -> list[Any]:
        """The rows of one statement, which SQLite reads from one snapshot (no transaction needed)."""

        def attempt() -> list[Any]:
            with self._use() as conn:
                return conn.execute(sql, params).fetchall()

        return self._run(attempt, doing)

    def data_version(self) -> int:
        """``PRAGMA data_version``: changes whenever another connection commits."""
        return int(self.query("PRAGMA data_version", (), "a change check")[0][0])

    def _run(self, attempt: Callable[[], T], doing: str) -> T:
        try:
            return self._with_retry(attempt)
        except sqlite3.Error as exc:
            raise self.error(exc, doing) from None

    def _with_retry(self, attempt: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.busy_timeout_secs
        backoff = 0.001
        while True:
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
                logger.debug("%s is busy, retrying: %s", self.path, exc)
            time.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF_SECS)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            logger.warning("rollback failed", exc_info=True)
