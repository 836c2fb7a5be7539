"""Small filesystem helpers for the file backends: private folders, whole writes and directory fsync.

Jobs carry arguments and results, which may be private: the file backends create their folders
with mode 0700 and their files with mode 0600 (owner only), whatever the umask lets through.

Every file the backends write goes through :func:`write_new`: a write is whole (and durable when
asked) or it raises, and a failed write leaves no file behind. ``os.write`` may write fewer bytes
than it was given, without an error, when the disk is nearly full.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import BackendError

#: Mode of every folder and file the file backends create (before the umask).
DIR_MODE = 0o700
FILE_MODE = 0o600


def make_private_dir(path: Path) -> None:
    """Create ``path`` and its missing parents with mode 0700; existing folders are left as they are.

    Raises:
        OSError: when a folder cannot be created, e.g. because a file holds its name.
    """
    missing: list[Path] = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            if not folder.is_dir():
                raise
            # another process made it first


def fsync_path(path: Path) -> None:
    """Flush a file's data, or make the renames and unlinks inside a folder durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


#: Syncs run at once by :func:`fsync_all`.
_PARALLEL_SYNCS = 8
_sync_pool: ThreadPoolExecutor | None = None
_sync_pool_lock = threading.Lock()


def _forget_sync_pool() -> None:
    global _sync_pool
    _sync_pool = None  # a forked child has none of the parent's threads: it starts its own


os.register_at_fork(after_in_child=_forget_sync_pool)


def fsync_all(paths: Sequence[Path]) -> None:
    """Flush every file of ``paths``, several at once.

    Journaling filesystems (ext4, XFS) commit syncs that overlap in one journal write, so a
    batch costs about what two files cost one after the other, not one sync per file.

    Raises:
        OSError: the first failure, once every sync has ended.
    """
    global _sync_pool
    if len(paths) < 2:
        for path in paths:
            fsync_path(path)
        return
    with _sync_pool_lock:
        if _sync_pool is None:
            _sync_pool = ThreadPoolExecutor(_PARALLEL_SYNCS, thread_name_prefix="nuvom-fsync")
        pool = _sync_pool
    for outcome in list(pool.map(_sync_outcome, paths)):
        if outcome is not None:
            raise outcome


def _sync_outcome(path: Path) -> OSError | None:
    try:
        fsync_path(path)
    except OSError as exc:
        return exc
    return None


def write_new(path: str | Path, data: bytes, *, fsync: bool) -> None:
    """Create ``path`` (mode 0600, it must not exist) holding all of ``data``, synced if ``fsync``.

    Raises:
        OSError: when the file cannot be created, a write fails or writes nothing (a full disk),
            or the sync fails; the partly written file is removed first.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with memoryview(data) as view:
            written = 0
            while written < len(view):
                count = os.write(fd, view[written:])
                if count == 0:
                    raise OSError(errno.ENOSPC, f"a write stored 0 of {len(view) - written} bytes", str(path))
                written += count
        if fsync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    os.close(fd)


def read_whole(path: Path) -> bytes:
    """The bytes of the file at ``path``, read to its end in as few system calls as can be.

    ``Path.read_bytes`` also asks whether the file is a terminal and where it stands, which the
    claim of every job would pay for.

    Raises:
        OSError: e.g. ``FileNotFoundError``.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        step = os.fstat(fd).st_size + 1
        chunks = []
        while chunk := os.read(fd, step):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_temp(tmp_dir: Path, data: bytes, *, fsync: bool = False) -> Path:
    """Write ``data`` whole to a new uniquely named file in ``tmp_dir`` and return its path.

    Raises:
        OSError: as :func:`write_new`; no temp file is left behind then.
    """
    name = os.path.join(tmp_dir, f"{os.getpid()}-{uuid.uuid4().hex}.tmp")  # hot path: no pathlib
    write_new(name, data, fsync=fsync)
    return Path(name)


@contextlib.contextmanager
def storage_errors(folder: Path, doing: str) -> Iterator[None]:
    """Raise an ``OSError`` of the block (a full disk, a read-only folder) as a ``BackendError``.

    The message names ``folder`` and what was being done, as the other backends name their
    database file or server.
    """
    try:
        yield
    except OSError as exc:
        raise BackendError(f"file backend at {folder}: {doing} failed: {exc}") from exc


def move(source: Path, target: Path) -> bool:
    """Rename ``source`` to ``target``, creating ``target``'s folder; ``False`` if ``source`` is gone."""
    try:
        os.rename(source, target)
    except FileNotFoundError:
        if target.parent.is_dir():
            return False
        make_private_dir(target.parent)
        try:
            os.rename(source, target)
        except FileNotFoundError:
            return False
    return True


def publish(items: Sequence[tuple[bytes, Path]], tmp_dir: Path, *, fsync: bool) -> None:
    """Make each ``(data, target)`` appear at ``target`` whole, never half-written.

    Every file is written first and only then synced, all at once (:func:`fsync_all`). Targets
    are renamed into place only after their data is durable, then each target folder is synced
    once. When anything fails, every temp file of the batch not yet renamed is removed at once;
    targets are touched only once every file is written (and synced).

    Raises:
        OSError: when writing, syncing or renaming fails.
    """
    staged: list[tuple[Path, Path]] = []
    placed = 0
    try:
        for data, target in items:
            staged.append((write_temp(tmp_dir, data), target))
        if fsync:
            fsync_all([tmp for tmp, _ in staged])
        for tmp, target in staged:
            try:
                os.replace(tmp, target)
            except FileNotFoundError:  # the target folder does not exist yet
                make_private_dir(target.parent)
                os.replace(tmp, target)
            placed += 1
    except BaseException:
        for tmp, _ in staged[placed:]:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    if fsync:
        fsync_all(list({target.parent for _, target in staged}))


def list_for_popping(folder: Path) -> list[str]:
    """The entries of ``folder``, reversed so that ``pop()`` takes them in order; ``[]`` if missing."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    names.sort(reverse=True)
    return names


def subfolders(folder: Path) -> list[str]:
    """The names of the folders inside ``folder``; ``[]`` if it is missing."""
    try:
        return [entry.name for entry in os.scandir(folder) if entry.is_dir()]
    except (FileNotFoundError, NotADirectoryError):
        return []


#: Temp files older than this are leftovers of a crash between write and rename.
STALE_TEMP_SECS = 3600.0


def remove_stale_temp_files(tmp_dir: Path, now: float) -> None:
    """Delete temp files in ``tmp_dir`` older than :data:`STALE_TEMP_SECS`."""
    for entry in os.scandir(tmp_dir):
        try:
            if now - entry.stat().st_mtime > STALE_TEMP_SECS:
                os.unlink(entry.path)
        except FileNotFoundError:
            continue
