"""Small filesystem helpers for the file backends: temp files and directory fsync."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_temp(tmp_dir: Path, data: bytes, *, fsync: bool) -> Path:
    """Write ``data`` to a new uniquely named file in ``tmp_dir`` and return its path."""
    path = tmp_dir / f"{os.getpid()}-{uuid.uuid4().hex}.tmp"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    return path


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
