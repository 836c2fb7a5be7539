"""What every command shares: consoles, settings loading, and the error-to-exit-code rule."""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import ConfigError, JobNotFound, NuvomError, PluginError

#: Off a terminal, lines are as wide as their content: nothing is cut or wrapped at 80 columns.
_UNBOUNDED = 1_000_000


def _color_system() -> Literal["auto"] | None:
    """``None`` (no styles at all, bold included) when ``NO_COLOR`` is set: Rich alone keeps bold."""
    return None if os.environ.get("NO_COLOR") else "auto"


def make_console(*, stderr: bool = False, soft_wrap: bool = False) -> Console:
    """A console that honours ``NO_COLOR`` fully (no color, no bold) and never cuts values off a terminal."""
    console = Console(stderr=stderr, soft_wrap=soft_wrap, color_system=_color_system())
    if not console.is_terminal:
        console.width = _UNBOUNDED
    return console


console = make_console()
err_console = make_console(stderr=True, soft_wrap=True)

#: The ``--json`` option of every command that prints data.
JSON_OPTION: Any = typer.Option(False, "--json", help="Print JSON (documented fields, stable for scripts).")

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


def table(*columns: str, title: str | None = None) -> Table:
    """A table whose cells fold instead of being cut, so every id and timestamp is shown whole."""
    result = Table(title=title, title_justify="left")
    for column in columns:
        result.add_column(column, overflow="fold")
    return result


def iso(ts: float | None) -> str | None:
    """Epoch seconds as ISO-8601 with the UTC offset (``None`` stays ``None``)."""
    return dt.datetime.fromtimestamp(ts).astimezone().isoformat(timespec="milliseconds") if ts else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def progress_bar() -> Progress:
    """A progress bar on stderr for work that takes seconds; off when stderr is not a terminal.

    It keeps the stderr of its creation, so work that redirects ``sys.stderr`` does not capture it.
    """
    console = Console(file=sys.stderr, color_system=_color_system())
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=console, transient=True, disable=not console.is_terminal)


def print_json(data: Any) -> None:
    """Write ``data`` to stdout as JSON, plain (no markup, no colors)."""
    sys.stdout.write(json.dumps(data, indent=2, default=_jsonable, ensure_ascii=False) + "\n")


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a :class:`NuvomError` raised by ``command`` into one red line and its exit code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except NuvomError as exc:
            raise fail(str(exc), exit_code_for(exc)) from None

    return wrapper
