"""Logging for the command line: one Rich handler, configured once. The library adds none."""

from __future__ import annotations

import logging

from rich.console import Console
from rich.logging import RichHandler


def configure_logging(level: str, console: Console | None = None) -> None:
    """Send ``nuvom*`` logs to a Rich handler on stderr at ``level``.

    Rich's highlighted tracebacks only go to a terminal: rendering one costs about 100 ms of CPU,
    which a worker logging errors to a file or a log collector cannot afford.
    """
    console = console or Console(stderr=True)
    handler = RichHandler(
        console=console,
        show_path=False,
        rich_tracebacks=console.is_terminal,
        log_time_format="%H:%M:%S",
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
