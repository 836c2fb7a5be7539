"""``nuvom runworker``."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..config import get_settings
from ..discovery.registration import import_discovered, refresh_manifest
from ..log import configure_logging, set_worker_id
from ..names import check_name
from ..registry import registry
from ..runtime import get_queue, get_results, get_scheduler_store
from ..scheduling.runner import Scheduler
from ..worker import Worker
from ..worker.reloader import run_with_reload
from ..worker.worker import POOLS
from .common import err_console, fail, import_modules

if TYPE_CHECKING:
    from ..config import Settings

logger = logging.getLogger(__name__)


def load_discovered_tasks(settings: Settings, root: Path) -> None:
    """Refresh the manifest of ``root`` and import the modules of its tasks."""
    refresh = refresh_manifest(root, settings.data_dir)
    result = refresh.result
    if refresh.rebuilt:
        logger.info("no usable task manifest: discovered %d task(s) in %s", len(result.tasks), root.resolve())
    for module, error in import_discovered(result):
        logger.error("tasks of module %s are not served: it failed to import: %s", module, error)


def runworker(
    imports: list[str] = typer.Option(
        [], "--import", "-i", help="Module defining tasks; repeat for several (default: discover them)."
    ),
    queues: str = typer.Option("default", "--queues", "-q", help="Comma-separated queues to serve."),
    concurrency: int | None = typer.Option(
        None, "--concurrency", "-c", min=1, help="Job slots (default NUVOM_MAX_WORKERS)."
    ),
    batch_size: int | None = typer.Option(
        None, "--batch-size", "-b", min=1, help="Jobs claimed per round trip (default NUVOM_BATCH_SIZE)."
    ),
    with_scheduler: bool | None = typer.Option(
        None,
        "--with-scheduler/--no-scheduler",
        help="Also send due schedules from this process (default: NUVOM_WORKER_SCHEDULER, true).",
    ),
    dev: bool = typer.Option(
        False, "--dev", help="Restart the worker when a .py file of the project changes."
    ),
    pool: str = typer.Option(
        "threads", "--pool", "-P", help="threads (async tasks on an event loop) or processes."
    ),
    max_jobs_per_child: int | None = typer.Option(
        None, "--max-jobs-per-child", min=1, help="With --pool processes: replace a child after N jobs."
    ),
    max_memory_per_child: float | None = typer.Option(
        None, "--max-memory-per-child", min=1, help="With --pool processes: replace a child past MB memory."
    ),
    burst: bool = typer.Option(
        False, "--burst", help="Run what is due, then exit 0 once nothing is due and nothing runs."
    ),
) -> None:
    """Run a worker: claim jobs, run them, store results, until SIGINT/SIGTERM (or drained, with --burst)."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format, err_console)
    names = [q.strip() for q in queues.split(",") if q.strip()]
    try:
        for name in names:
            check_name("queue", name)
    except ValueError as exc:
        raise fail(str(exc)) from None
    if pool not in POOLS:
        raise fail(f"--pool must be one of {', '.join(POOLS)}, not {pool!r}")
    if pool != "processes" and (max_jobs_per_child or max_memory_per_child):
        raise fail("--max-jobs-per-child and --max-memory-per-child need --pool processes")
    if burst and dev:
        raise fail("--burst and --dev cannot be combined: a burst worker exits once the queue is drained")
    if dev:
        args = [f"--import={module}" for module in imports] + [f"--queues={','.join(names)}"]
        args += [f"--concurrency={concurrency}"] if concurrency else []
        args += [f"--batch-size={batch_size}"] if batch_size else []
        args += [] if with_scheduler is None else ["--with-scheduler" if with_scheduler else "--no-scheduler"]
        args += [f"--pool={pool}"]
        args += [f"--max-jobs-per-child={max_jobs_per_child}"] if max_jobs_per_child else []
        args += [f"--max-memory-per-child={max_memory_per_child}"] if max_memory_per_child else []
        root = Path.cwd()

        def rescan() -> None:
            if not imports:
                changes = refresh_manifest(root, settings.data_dir).changes
                for kind, tasks in (("added", changes.added), ("removed", changes.removed)):
                    for task in tasks:
                        logger.info("task %s %s (%s)", task.name, kind, task.origin)

        run_with_reload(args, root, grace=settings.shutdown_grace_secs, on_change=rescan)
        return
    load_tasks(settings, imports)
    if not registry.all():
        raise fail(
            "no tasks are registered: none were discovered under this folder; "
            "pass the modules that define them with --import MODULE"
        )
    worker = Worker(
        settings,
        get_queue(),
        get_results(),
        queues=names,
        concurrency=concurrency,
        batch_size=batch_size,
        pool=pool,
        max_jobs_per_child=max_jobs_per_child,
        max_memory_per_child=max_memory_per_child,
        burst=burst,
        runs_schedules=settings.worker_scheduler if with_scheduler is None else with_scheduler,
    )
    set_worker_id(worker.id)  # on every record from here on, "started" included
    if not worker.runs_schedules:
        worker.run()
        return
    scheduler = Scheduler(get_scheduler_store(), settings=settings)
    thread = threading.Thread(target=scheduler.run, name="nuvom-scheduler", daemon=True)
    thread.start()
    try:
        worker.run()
    finally:
        scheduler.stop()
        thread.join()


def load_tasks(settings: Settings, imports: list[str]) -> None:
    """Import ``imports``, or else the tasks discovered under the working directory."""
    if imports:
        import_modules(imports)
    else:
        load_discovered_tasks(settings, Path.cwd())
