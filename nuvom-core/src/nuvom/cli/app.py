"""The ``nuvom`` command line: builds the Typer app and turns Nuvom errors into exit codes."""

from __future__ import annotations

import typer
from rich.markup import escape

from ..errors import NuvomError
from ..plugins.manager import register_commands
from ..version import __version__
from .admin import health, workers
from .common import console, err_console, exit_code_for, fail, handles_errors
from .control import cancel_app, retry_app
from .demo import demo
from .jobs import history_app, inspect_app, status
from .name_clash import old_nuvom_installed
from .plugin import plugin_app
from .queue import queue_app
from .scheduler import runscheduler, schedule_app
from .settings import config
from .tasks import discover_app, list_app
from .worker import runworker

app = typer.Typer(
    name="nuvom",
    help="Nuvom: background jobs for Python. No server needed.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(wanted: bool) -> None:
    if wanted:
        console.print(f"nuvom {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def options(
    show_version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the installed version and exit.",
    ),
) -> None:
    """Nuvom: background jobs for Python. No server needed."""


@app.command()
def version() -> None:
    """Print the installed version."""
    console.print(f"nuvom {__version__}", highlight=False)


app.command()(handles_errors(config))
app.command()(handles_errors(demo))
app.command()(handles_errors(runworker))
app.command()(handles_errors(runscheduler))
app.command()(handles_errors(status))
app.command()(handles_errors(workers))
app.command()(handles_errors(health))
app.add_typer(inspect_app, name="inspect")
app.add_typer(history_app, name="history")
app.add_typer(retry_app, name="retry")
app.add_typer(cancel_app, name="cancel")
app.add_typer(queue_app, name="queue")
app.add_typer(schedule_app, name="schedule")
app.add_typer(plugin_app, name="plugin")
app.add_typer(discover_app, name="discover")
app.add_typer(list_app, name="list")


def main() -> None:
    """Entry point of the ``nuvom`` script: plugins add their commands, then the command runs."""
    if clash := old_nuvom_installed():
        err_console.print(f"[bold yellow]warning:[/] {escape(clash)}", highlight=False)
    try:
        register_commands(app)
    except NuvomError as exc:
        raise SystemExit(fail(f"plugins could not be loaded: {exc}", exit_code_for(exc)).exit_code) from None
    app()
