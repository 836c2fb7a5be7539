"""``nuvom queue stats``."""

from __future__ import annotations

import typer
from rich.table import Table

from ..runtime import get_queue
from .common import console, handles_errors

queue_app = typer.Typer(help="Inspect queues.", no_args_is_help=True)


@queue_app.command("stats")
@handles_errors
def stats() -> None:
    """Counts of ready, scheduled, leased and quarantined jobs, and waiting jobs per queue."""
    backend = get_queue()
    counts = backend.stats()
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
