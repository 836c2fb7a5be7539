"""``nuvom prometheus serve | dashboard | rules``: the fleet exporter and the shipped monitoring files."""

from __future__ import annotations

import signal
import threading
from importlib import resources
from typing import Annotated, Final

import typer

from nuvom.cli.common import console, handles_errors
from nuvom.runtime import get_queue, get_scheduler_store

#: The fleet exporter's port unless ``--port`` says otherwise (workers default to 9150 and up).
FLEET_PORT: Final = 9149
#: The shipped Grafana dashboard and Prometheus alert rules, inside this package.
DASHBOARD: Final = "grafana-dashboard.json"
RULES: Final = "nuvom-alerts.yml"

prometheus_app = typer.Typer(help="Prometheus monitoring: the fleet exporter, dashboard and alert rules.")


def asset(name: str) -> str:
    """The text of a file shipped in ``nuvom_prometheus/assets``."""
    return resources.files(__package__).joinpath("assets").joinpath(name).read_text(encoding="utf-8")


@prometheus_app.command("serve")
@handles_errors
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default NUVOM_PROMETHEUS_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to bind; 0 picks a free one.")
    ] = FLEET_PORT,
) -> None:
    """Serve the whole fleet's queue metrics from the backends, whether or not workers run."""
    # prometheus_client and the settings load when the exporter runs, not when `nuvom --help` lists it.
    from prometheus_client import CollectorRegistry

    from .exporter import PrometheusSettings, start_exporter
    from .fleet import FleetCollector, require_depths
    from .metrics import runtime_collectors

    settings = PrometheusSettings.load()
    settings = settings.model_copy(
        update={"prometheus_host": host or settings.prometheus_host, "prometheus_port": port}
    )
    registry = CollectorRegistry()
    registry.register(FleetCollector(require_depths(get_queue()), get_scheduler_store()))
    runtime_collectors(registry)
    exporter = start_exporter(settings, registry)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    console.print(
        f"fleet exporter serves Prometheus metrics at {exporter.url}", highlight=False, soft_wrap=True
    )
    while not stop.wait(1.0):
        pass
    exporter.stop()


@prometheus_app.command("dashboard")
def dashboard() -> None:
    """Print the Grafana dashboard (JSON; import it in Grafana)."""
    typer.echo(asset(DASHBOARD), nl=False)


@prometheus_app.command("rules")
def rules() -> None:
    """Print the Prometheus alert rules (YAML; add the file to ``rule_files``)."""
    typer.echo(asset(RULES), nl=False)
