"""``nuvom queue stats`` and ``nuvom queue purge``."""

from __future__ import annotations

import typer
from rich.table import Table

from ..admin import purge_queue
from ..runtime import get_queue
from .common import EXIT_FAILED, JSON_OPTION, console, fail, handles_errors, print_json

queue_app = typer.Typer(help="Inspect and empty queues.", no_args_is_help=True)


@queue_app.command("stats")
@handles_errors
def stats(as_json: bool = JSON_OPTION) -> None:
    """Counts of ready, scheduled, leased and quarantined jobs, and waiting jobs per queue."""
    backend = get_queue()
    counts = backend.stats()
    if as_json:
        print_json(
            {
                "backend": backend.name,
                "ready": counts.ready,
                "scheduled": counts.scheduled,
                "leased": counts.leased,
                "quarantined": counts.quarantined,
                "waiting_by_queue": dict(sorted(counts.by_queue.items())),
            }
        )
        return
    table = Table(title=f"queue backend: {backend.name}")
    table.add_column("state")
    table.add_column("jobs", justify="right")
    table.add_row("ready", str(counts.ready))
    table.add_row("scheduled", str(counts.scheduled))
    table.add_row("leased", str(counts.leased))
    table.add_row("quarantined", f"[red]{counts.quarantined}[/]" if counts.quarantined else "0")
    for name, waiting in sorted(counts.by_queue.items()):
        table.add_row(f"waiting in {name!r}", str(waiting))
    console.print(table)


@queue_app.command("purge")
@handles_errors
def purge(
    queue: str = typer.Argument(..., help="The queue to empty."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete every waiting job of QUEUE (running jobs finish); their records become cancelled."""
    if not yes and not typer.confirm(f"Delete every waiting job of queue {queue!r}?"):
        raise fail("nothing purged", EXIT_FAILED)
    console.print(f"purged {purge_queue(queue)} job(s) from queue {queue!r}", highlight=False)
