"""What every command shares: consoles, settings loading, and the error-to-exit-code rule."""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import ConfigError, JobNotFound, NuvomError, PluginError

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")

#: Exit codes: 0 ok, 1 the thing asked about failed, 2 bad usage or unknown id.
EXIT_FAILED = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print one red line and return the exit to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


def exit_code_for(error: NuvomError) -> int:
    """Unknown ids, bad settings and plugin problems are usage errors; anything else failed."""
    return EXIT_USAGE if isinstance(error, (ConfigError, JobNotFound, PluginError)) else EXIT_FAILED


def import_modules(modules: Iterable[str]) -> None:
    """Import task modules, with the working directory first on ``sys.path``."""
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise fail(f"cannot import {module!r}: {exc}") from None


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a :class:`NuvomError` raised by ``command`` into one red line and its exit code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except NuvomError as exc:
            raise fail(str(exc), exit_code_for(exc)) from None

    return wrapper
