"""``nuvom discover tasks`` and ``nuvom list tasks``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ..config import get_settings
from ..discovery import MANIFEST_FILE, Manifest
from ..discovery.registration import refresh_manifest
from .common import JSON_OPTION, console, fail, handles_errors, print_json, progress_bar

discover_app = typer.Typer(help="Find tasks by reading the project's source.", no_args_is_help=True)
list_app = typer.Typer(help="List what discovery found.", no_args_is_help=True)


@discover_app.command("tasks")
@handles_errors
def discover_tasks(
    root: Path = typer.Option(Path("."), "--root", help="The project folder to scan."),
    include: list[str] = typer.Option([], "--include", help="Only paths matching this glob; repeatable."),
    exclude: list[str] = typer.Option([], "--exclude", help="Skip paths matching this glob; repeatable."),
) -> None:
    """Scan ROOT for @task functions (without importing it), show what changed and save the manifest."""
    if not root.is_dir():
        raise fail(f"--root {root} is not a folder")
    settings = get_settings()
    with progress_bar() as bar:
        files = bar.add_task("scanning files", total=None)
        refresh = refresh_manifest(
            root, settings.data_dir, include=include, exclude=exclude, on_file=lambda _: bar.advance(files)
        )
    result, changes = refresh.result, refresh.changes
    for task in changes.added:
        console.print(f"[green]+ {task.name}[/]  {task.origin}  ({task.path}:{task.line})", highlight=False)
    for task in changes.removed:
        console.print(f"[red]- {task.name}[/]  {task.origin}", highlight=False)
    for task in changes.changed:
        console.print(f"[yellow]~ {task.name}[/]  {task.origin}  ({task.path}:{task.line})", highlight=False)
    for error in result.errors:
        line = f":{error.line}" if error.line else ""
        console.print(f"[red]skipped {error.path}{line}: {error.message}[/]", highlight=False)
    summary = (
        f"{len(result.tasks)} task(s) in {result.scanned_files} file(s) "
        f"({result.parsed_files} parsed); {len(changes.added)} added, {len(changes.removed)} removed, "
        f"{len(changes.changed)} changed; saved {settings.data_dir / MANIFEST_FILE}"
    )
    console.print(summary, highlight=False)


@list_app.command("tasks")
@handles_errors
def list_tasks(as_json: bool = JSON_OPTION) -> None:
    """Show the tasks in the manifest (run `nuvom discover tasks` to refresh it)."""
    path = get_settings().data_dir / MANIFEST_FILE
    manifest, warning = Manifest.load(path)
    if warning is not None or not path.exists():
        raise fail(f"no usable manifest at {path}: run `nuvom discover tasks` first")
    if as_json:
        print_json(
            [
                {
                    "name": name,
                    "origin": task.origin,
                    "path": str(task.path),
                    "line": task.line,
                    "is_async": task.is_async,
                    "queue": task.queue or "default",
                    "retries": task.retries,
                    "timeout_secs": task.timeout_secs,
                    "tags": list(task.tags or ()),
                    "description": task.description,
                }
                for name, task in sorted(manifest.tasks().items())
            ]
        )
        return
    table = Table(title=f"{len(manifest.tasks())} task(s) from {path}", title_justify="left")
    for column in ("task", "module:function", "queue", "retries", "timeout", "tags", "description"):
        table.add_column(column, overflow="fold")
    for name, task in sorted(manifest.tasks().items()):
        table.add_row(
            name + (" (async)" if task.is_async else ""),
            task.origin,
            task.queue or "default",
            "-" if task.retries is None else str(task.retries),
            "-" if task.timeout_secs is None else f"{task.timeout_secs:g} s",
            ", ".join(task.tags or ()),
            task.description or "",
        )
    console.print(table)
