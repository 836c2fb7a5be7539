"""``nuvom plugin list|test|scaffold``: see plugins, prove a backend, start a new one."""

from __future__ import annotations

import enum
import functools
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import Progress, TaskID
from rich.table import Table
from rich.text import Text

from ..errors import PluginError
from ..plugins.manager import plugin_infos
from ..plugins.scaffold import scaffold_plugin
from .common import EXIT_FAILED, JSON_OPTION, console, handles_errors, print_json, progress_bar

#: The one line every doc and hint repeats: what `nuvom plugin test` needs beyond nuvom-core.
TESTING_EXTRA_HINT = "nuvom plugin test needs pytest and hypothesis: pip install 'nuvom-core[testing]'"

if TYPE_CHECKING:
    from ..testing.runner import Kind, SuiteReport

plugin_app = typer.Typer(help="Plugins: list them, test a backend, scaffold a new one.", no_args_is_help=True)


class ScaffoldKind(str, enum.Enum):
    """What the scaffolded plugin provides."""

    queue = "queue"
    result = "result"
    scheduler = "scheduler"
    monitoring = "monitoring"


@plugin_app.command("list")
@handles_errors
def list_plugins(as_json: bool = JSON_OPTION) -> None:
    """Show every plugin: where it came from, its version and what it provides."""
    if as_json:
        print_json(
            [
                {
                    "name": info.name,
                    "source": info.source,
                    "version": info.version,
                    "backends": {kind: list(names) for kind, names in info.backends.items()},
                    "hooks": list(info.hooks),
                }
                for info in plugin_infos()
            ]
        )
        return
    table = Table(title="Nuvom plugins, in registration order", title_justify="left")
    for column in ("plugin", "source", "version", "provides"):
        table.add_column(column, overflow="fold")
    for info in plugin_infos():
        provides = [f"{kind} backends: {', '.join(names)}" for kind, names in info.backends.items()]
        if info.hooks:
            provides.append("hooks: " + ", ".join(h.removeprefix("nuvom_") for h in info.hooks))
        table.add_row(info.name, info.source, info.version or "-", "\n".join(provides) or "-")
    console.print(table)


@plugin_app.command("scaffold")
@handles_errors
def scaffold(
    name: str = typer.Argument(..., help="The plugin's name, e.g. mongo (package nuvom-mongo)."),
    kind: ScaffoldKind = typer.Option(..., "--kind", help="queue, result, scheduler or monitoring."),
    out: Path = typer.Option(Path("."), "--out", help="Where to write the package."),
) -> None:
    """Write a pip-installable plugin package whose conformance suite passes out of the box."""
    root = scaffold_plugin(name, kind.value, out)
    console.print(f"wrote [bold]{root}[/]")
    console.print(f"next: cd {root} && pip install -e '.[test]' && nuvom plugin test {name}", highlight=False)


class SuiteKind(str, enum.Enum):
    """Which conformance suite to run."""

    queue = "queue"
    result = "result"
    scheduler = "scheduler"


def _advance(bar: Progress, task: TaskID, done: int, total: int) -> None:
    bar.update(task, completed=done, total=total)


_OUTCOME = {
    "passed": Text("pass", style="green"),
    "failed": Text("FAIL", style="bold red"),
    "skipped": Text("skip", style="yellow"),
}


@plugin_app.command("test")
@handles_errors
def run_conformance(
    target: str = typer.Argument(
        ..., help="A registered backend name, an installed entry point or distribution, or module:Class."
    ),
    kind: SuiteKind | None = typer.Option(
        None, "--kind", help="The suite to run (default: every role the target offers)."
    ),
    name: str | None = typer.Option(
        None, "--name", help="Which backend of an entry point that offers several."
    ),
    select: str | None = typer.Option(
        None, "-k", "--select", help="Run only the checks matching this pytest -k expression."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Print each failure's full report."),
) -> None:
    """Run the conformance suite against TARGET; exit 0 only when every check passes."""
    for module in ("pytest", "hypothesis"):
        if importlib.util.find_spec(module) is None:
            raise PluginError(f"{TESTING_EXTRA_HINT} ({module} is missing)")
    from ..testing.runner import kinds_of, run_suite

    cwd = str(Path.cwd())  # so module:Class finds the project's own modules, as `python -m` would
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    kinds: list[Kind] = [kind.value] if kind is not None else kinds_of(target, name)
    failed = False
    for k in kinds:
        with progress_bar() as bar:
            checks = bar.add_task(f"{k} checks", total=None)
            report = run_suite(
                target, k, name, select=select, progress=functools.partial(_advance, bar, checks)
            )
        _render(report, verbose=verbose)
        if report.stopped_early:  # the other roles would stop on the same fault
            raise typer.Exit(EXIT_FAILED)
        failed = failed or not report.ok
    if failed:
        raise typer.Exit(EXIT_FAILED)


def _render(report: SuiteReport, *, verbose: bool) -> None:
    if report.stopped_early:
        (check,) = report.checks
        console.print(Text(f"{report.kind} suite not run: {check.message}", style="bold red"), soft_wrap=True)
        return
    table = Table(title=f"{report.kind} backend conformance: {report.label}", title_justify="left")
    table.add_column("check", overflow="fold")
    table.add_column("result")
    table.add_column("contract, or why it failed or was skipped", overflow="fold")
    for check in report.checks:
        detail = (
            Text(check.message, style="red")
            if check.outcome == "failed"
            else Text(check.description.replace("``", ""))
        )
        if check.outcome == "skipped":
            detail = Text(check.message, style="yellow")
        table.add_row(check.name.removeprefix("test_"), _OUTCOME[check.outcome], detail)
    console.print(table)
    failed = report.by_outcome("failed")
    counts = f"{len(report.by_outcome('passed'))} passed, {len(failed)} failed, "
    counts += f"{len(report.by_outcome('skipped'))} skipped in {report.duration_secs:.1f} s"
    if not report.checks:
        counts = f"no checks ran (pytest exit code {report.exit_code})"
    console.print(Text(counts, style="bold red" if failed or not report.ok else "bold green"))
    if report.cleanup:
        console.print(Text(report.cleanup, style="dim"), soft_wrap=True)
    for check in failed:
        line = Text.assemble(("FAILED ", "bold red"), check.name, ": ", check.message)
        console.print(line, soft_wrap=True)
        if verbose and check.details:
            console.print(Text(check.details), soft_wrap=True)
    if failed and not verbose:
        console.print(Text("full reports: add -v; one check alone: -k NAME", style="dim"))
    if verbose and not report.checks:
        console.print(Text(report.output), soft_wrap=True)
