"""``nuvom runworker``."""

from __future__ import annotations

import typer

from ..config import get_settings
from ..log import configure_logging
from ..registry import registry
from ..runtime import get_queue, get_results
from ..task import check_name
from ..worker import Worker
from .common import fail, import_modules


def runworker(
    imports: list[str] = typer.Option(
        [], "--import", "-i", help="Module defining tasks; repeat for several."
    ),
    queues: str = typer.Option("default", "--queues", "-q", help="Comma-separated queues to serve."),
    concurrency: int | None = typer.Option(
        None, "--concurrency", "-c", min=1, help="Job slots (default NUVOM_MAX_WORKERS)."
    ),
    batch_size: int | None = typer.Option(
        None, "--batch-size", "-b", min=1, help="Jobs claimed per round trip (default NUVOM_BATCH_SIZE)."
    ),
) -> None:
    """Run a worker: claim jobs, run them, store results, until SIGINT/SIGTERM."""
    settings = get_settings()
    configure_logging(settings.log_level)
    import_modules(imports)
    names = [q.strip() for q in queues.split(",") if q.strip()]
    try:
        for name in names:
            check_name("queue", name)
    except ValueError as exc:
        raise fail(str(exc)) from None
    if not registry.all():
        raise fail("no tasks are registered: pass the modules that define them with --import MODULE")
    worker = Worker(
        settings, get_queue(), get_results(), queues=names, concurrency=concurrency, batch_size=batch_size
    )
    worker.run()
