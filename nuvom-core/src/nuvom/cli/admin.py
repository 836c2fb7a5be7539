"""``nuvom workers`` and ``nuvom health``: who is running, and is everything answering."""

from __future__ import annotations

import time

import typer

from ..admin import check_health, list_workers
from ..config import get_settings
from .common import EXIT_FAILED, JSON_OPTION, console, fail, iso, print_json, table


def _age(ts: float, now: float) -> str:
    return f"{max(0.0, now - ts):.1f} s ago"


def workers(
    as_json: bool = JSON_OPTION,
    prune: bool = typer.Option(False, "--prune", help="Also remove dead workers from the registry."),
) -> None:
    """List the workers of this queue backend; a worker whose heartbeat lapsed is marked dead."""
    found = list_workers(prune=prune)
    if as_json:
        print_json(
            [
                {
                    **status.info.to_dict(),
                    "started_at": iso(status.info.started_at),
                    "heartbeat_at": iso(status.info.heartbeat_at),
                    "alive": status.alive,
                }
                for status in found
            ]
        )
        return
    if not found:
        console.print("no workers registered")
        return
    now = time.time()
    rows = table("id", "state", "host", "pid", "queues", "pool", "running", "started", "last heartbeat")
    rows.title = f"{len(found)} worker(s); dead: no heartbeat for {get_settings().heartbeat_lapse_secs:g} s"
    for status in found:
        info = status.info
        rows.add_row(
            info.id,
            "[green]alive[/]" if status.alive else "[red]dead[/]",
            info.host,
            str(info.pid),
            ",".join(info.queues),
            f"{info.pool} x{info.slots}",
            f"{info.running}/{info.slots}",
            iso(info.started_at),
            _age(info.heartbeat_at, now),
        )
    console.print(rows)


def health(
    worker: str | None = typer.Option(
        None, "--worker", help="Also require this worker's heartbeat to be fresh."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Exit 0 when every backend answers (and the worker's heartbeat is fresh), else 1 with one line why."""
    report = check_health(worker)
    if as_json:
        print_json({"ok": report.ok, "problem": report.problem, "checks": report.checks})
        if not report.ok:
            raise typer.Exit(EXIT_FAILED)
        return
    if report.problem is not None:
        raise fail(f"unhealthy: {report.problem}", EXIT_FAILED)
    console.print(
        "ok: " + ", ".join(f"{name} {state}" for name, state in report.checks.items()), highlight=False
    )
