"""Small filesystem helpers for the file backends: private folders, temp files and directory fsync.

Jobs carry arguments and results, which may be private: the file backends create their folders
with mode 0700 and their files with mode 0600 (owner only), whatever the umask lets through.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path

#: Mode of every folder and file the file backends create (before the umask).
DIR_MODE = 0o700
FILE_MODE = 0o600


def make_private_dir(path: Path) -> None:
    """Create ``path`` and its missing parents with mode 0700; existing folders are left as they are."""
    missing: list[Path] = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:  # another process made it first
            continue


def fsync_path(path: Path) -> None:
    """Flush a file's data, or make the renames and unlinks inside a folder durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_temp(tmp_dir: Path, data: bytes) -> Path:
    """Write ``data`` to a new uniquely named file in ``tmp_dir`` and return its path (no fsync)."""
    name = os.path.join(tmp_dir, f"{os.getpid()}-{uuid.uuid4().hex}.tmp")  # hot path: no pathlib
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return Path(name)


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

    Every file is written first and only then synced: on journaling filesystems the first sync
    commits them all, so a batch costs little more than one file. Targets are renamed into place
    only after their data is durable, then each target folder is synced once.
    """
    staged = [(write_temp(tmp_dir, data), target) for data, target in items]
    if fsync:
        for tmp, _ in staged:
            fsync_path(tmp)
    for tmp, target in staged:
        try:
            os.replace(tmp, target)
        except FileNotFoundError:  # the target folder does not exist yet
            make_private_dir(target.parent)
            os.replace(tmp, target)
    if fsync:
        for folder in {target.parent for _, target in staged}:
            fsync_path(folder)


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
