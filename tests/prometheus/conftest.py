"""Fixtures: the e2e task project, worker subprocesses, and a real Prometheus server."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import nuvom_prometheus

from ..e2e.conftest import start_worker as start_worker  # the same worker processes as e2e
from ..e2e.helpers import imported_tasks, wait_until
from .helpers import FleetProcess, free_port

#: The files the package ships (``nuvom prometheus rules`` / ``dashboard`` print them).
ASSETS = Path(nuvom_prometheus.__file__).parent / "assets"
ALERTS = ASSETS / "nuvom-alerts.yml"
DASHBOARD = ASSETS / "grafana-dashboard.json"


@pytest.fixture
def project(isolated_nuvom: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The e2e task module, importable here and in the worker; exporters pick a free port."""
    monkeypatch.setenv("NUVOM_PROMETHEUS_PORT", "0")
    with imported_tasks(isolated_nuvom, monkeypatch) as tasks:
        yield tasks


class PrometheusServer:
    """A real ``prometheus`` process on a free loopback port, scraping ``targets`` every second.

    ``targets`` are the workers (job ``nuvom``), ``fleet`` the fleet exporters (job ``nuvom-fleet``),
    as the shipped alert rules expect.
    """

    def __init__(self, directory: Path, targets: list[str], fleet: list[str] | None = None) -> None:
        binary = shutil.which("prometheus")
        assert binary is not None
        directory.mkdir()
        config = directory / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"rule_files:\n  - {ALERTS}\n"
            "scrape_configs:\n"
            + "".join(
                f"  - job_name: {job}\n    static_configs:\n"
                f"      - targets: [{', '.join(repr(t) for t in hosts)}]\n"
                for job, hosts in (("nuvom", targets), ("nuvom-fleet", fleet or []))
                if hosts
            )
        )
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = directory / "prometheus.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--web.listen-address={self.url.removeprefix('http://')}",
                    f"--storage.tsdb.path={directory / 'data'}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._ready, 30, f"Prometheus at {self.url} to be ready (log: {self.log})", 0.1)

    def _ready(self) -> bool:
        assert self.proc.poll() is None, f"prometheus exited: {self.log.read_text()}"
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def api(self, path: str, **params: str) -> Any:
        """GET ``/api/v1/<path>`` and return its ``data`` (the call must succeed)."""
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The result vector of an instant query."""
        result: list[dict[str, Any]] = self.api("query", query=promql)["result"]
        return result

    def scalar(self, promql: str) -> float | None:
        """The first value of an instant query, or ``None`` when it returns nothing."""
        result = self.query(promql)
        return float(result[0]["value"][1]) if result else None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture
def start_prometheus(tmp_path: Path) -> Iterator[Callable[..., PrometheusServer]]:
    """Start a real Prometheus server (skipped when the binary is missing); stopped by pid."""
    if shutil.which("prometheus") is None:
        pytest.skip("the prometheus binary is not installed (apt-get install prometheus; .ci/run does)")
    servers: list[PrometheusServer] = []

    def start(targets: list[str], fleet: list[str] | None = None) -> PrometheusServer:
        server = PrometheusServer(tmp_path / f"prometheus-{len(servers)}", targets, fleet)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def start_fleet(isolated_nuvom: Path) -> Iterator[Callable[..., FleetProcess]]:
    """Start ``nuvom prometheus serve`` subprocesses (a free port unless told); each stopped by pid."""
    started: list[FleetProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> FleetProcess:
        fleet = FleetProcess(isolated_nuvom, *(args or ("--port", "0")), env=env)
        started.append(fleet)
        return fleet

    yield start
    for fleet in started:
        fleet.stop(timeout=10)
