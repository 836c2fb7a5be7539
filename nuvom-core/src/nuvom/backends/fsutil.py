"""Small filesystem helpers for the file backends: temp files and directory fsync."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path


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
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
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
        target.parent.mkdir(parents=True, exist_ok=True)
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
            target.parent.mkdir(parents=True, exist_ok=True)
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
