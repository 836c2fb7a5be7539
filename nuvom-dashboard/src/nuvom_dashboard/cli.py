"""``nuvom dashboard``: serve the console with uvicorn, on 127.0.0.1:8150 unless told otherwise."""

from __future__ import annotations

from typing import Annotated, Final

import typer

from nuvom.cli.common import console, handles_errors, import_modules

#: Where the dashboard listens unless ``--host`` / ``--port`` say otherwise.
DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8150


@handles_errors
def dashboard(
    host: Annotated[
        str, typer.Option(help="Address to bind; the default serves this machine only.")
    ] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to bind.")] = DEFAULT_PORT,
    imports: Annotated[
        list[str] | None,
        typer.Option(
            "--import",
            "-i",
            help="Module defining tasks (for the Tasks page and sensitive marks); repeatable.",
        ),
    ] = None,
    read_only: Annotated[bool, typer.Option("--read-only", help="Show everything, allow no action.")] = False,
) -> None:
    """Serve the web console of queues, workers, jobs, schedules, tasks (actions: NUVOM_DASHBOARD_TOKEN)."""
    import uvicorn

    from .app import create_app
    from .security import DashboardConfig

    import_modules(imports or [])
    config = DashboardConfig.load(read_only=read_only)
    if config.why_no_actions:
        console.print(config.why_no_actions, highlight=False, soft_wrap=True)
    console.print(f"dashboard at http://{host}:{port}/", highlight=False, soft_wrap=True)
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning")
