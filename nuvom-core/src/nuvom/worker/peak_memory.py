"""Peak resident memory of this process, which ``--max-memory-per-child`` compares to its limit.

POSIX ``getrusage`` tells it. A platform without the ``resource`` module (Windows) runs the
process pool all the same, without the memory limit; asking for the limit there raises
:class:`~nuvom.errors.NotSupported` (see :func:`require`).
"""

from __future__ import annotations

import sys

from ..errors import NotSupported

try:
    import resource
except ModuleNotFoundError:  # Windows
    AVAILABLE = False
else:
    AVAILABLE = True


def require(option: str) -> None:
    """Raise :class:`NotSupported` naming ``option`` where peak memory cannot be read; else nothing."""
    if not AVAILABLE:
        raise NotSupported(
            option,
            f"it reads peak memory with POSIX getrusage (the resource module), which {sys.platform} lacks",
        )


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process in MiB; ``None`` where the platform cannot tell."""
    if not AVAILABLE:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux
