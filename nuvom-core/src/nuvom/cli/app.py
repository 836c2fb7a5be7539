"""The ``nuvom`` command line: builds the Typer app and turns Nuvom errors into exit codes.

Each sub-command's module loads only when that command runs (see :mod:`nuvom.cli.lazy`), so
``nuvom --help`` imports neither the worker nor discovery.
"""

from __future__ import annotations

import typer
from rich.markup import escape

from ..version import __version__
from .common import console, err_console
from .lazy import LazyCommand, LazyGroup
from .name_clash import old_nuvom_installed

#: The built-in sub-commands, in the order ``nuvom --help`` lists them (groups after commands).
COMMANDS: dict[str, LazyCommand] = {
    "config": LazyCommand(
        "nuvom.cli.config",
        "config",
        "Print each setting's effective value and where it came from, grouped by plugin.",
    ),
    "demo": LazyCommand(
        "nuvom.cli.demo",
        "demo",
        "Write example tasks, enqueue jobs, run a worker on them and show the results.",
    ),
    "runworker": LazyCommand(
        "nuvom.cli.worker",
        "runworker",
        "Run a worker: claim jobs, run them, store results, until SIGINT/SIGTERM (or drained, with --burst).",
    ),
    "runscheduler": LazyCommand(
        "nuvom.cli.scheduler",
        "runscheduler",
        "Send due schedules as jobs until SIGINT/SIGTERM; run as many as you like, each fire goes out once.",
    ),
    "status": LazyCommand(
        "nuvom.cli.jobs",
        "status",
        "Print a job's status; exit 1 if it failed or was cancelled, 2 if the id is unknown.",
    ),
    "workers": LazyCommand(
        "nuvom.cli.admin",
        "workers",
        "List the workers of this queue backend; a worker whose heartbeat lapsed is marked dead.",
    ),
    "health": LazyCommand(
        "nuvom.cli.admin",
        "health",
        "Exit 0 when every backend answers (and the worker's heartbeat is fresh), else 1 with one line why.",
    ),
    "inspect": LazyCommand("nuvom.cli.jobs", "inspect_app", "Inspect jobs.", group=True),
    "history": LazyCommand("nuvom.cli.jobs", "history_app", "Recent jobs.", group=True),
    "retry": LazyCommand(
        "nuvom.cli.control", "retry_app", "Send failed or cancelled jobs again.", group=True
    ),
    "cancel": LazyCommand("nuvom.cli.control", "cancel_app", "Cancel jobs.", group=True),
    "queue": LazyCommand("nuvom.cli.queue", "queue_app", "Inspect and empty queues.", group=True),
    "schedule": LazyCommand(
        "nuvom.cli.scheduler", "schedule_app", "Schedules: list them, cancel one.", group=True
    ),
    "plugin": LazyCommand(
        "nuvom.cli.plugin",
        "plugin_app",
        "Plugins: list them, test a backend, scaffold a new one.",
        group=True,
    ),
    "discover": LazyCommand(
        "nuvom.cli.tasks", "discover_app", "Find tasks by reading the project's source.", group=True
    ),
    "list": LazyCommand("nuvom.cli.tasks", "list_app", "List what discovery found.", group=True),
}


class NuvomGroup(LazyGroup):
    """The root ``nuvom`` group."""

    lazy_commands = COMMANDS


app = typer.Typer(
    name="nuvom",
    cls=NuvomGroup,
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


def main() -> None:
    """Entry point of the ``nuvom`` script: warn of a clashing install, then run the command."""
    if clash := old_nuvom_installed():
        err_console.print(f"[bold yellow]warning:[/] {escape(clash)}", highlight=False)
    app()
